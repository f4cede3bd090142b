// The only translation unit that includes QuickFIX (compiled as C++14: see engine.hpp).
#include <quickfix/Application.h>
#include <quickfix/DataDictionary.h>
#include <quickfix/FileStore.h>
#include <quickfix/Log.h>
#include <quickfix/Message.h>
#include <quickfix/SSLSocketAcceptor.h>
#include <quickfix/SSLSocketInitiator.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketAcceptor.h>
#include <quickfix/SocketInitiator.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>

#include "tradebus/fix/engine.hpp"

namespace tradebus {
namespace fix {

std::string session_name(const std::string& sender, const std::string& target) {
    return sender + "->" + target;
}

namespace {

const char soh = '\x01';

std::string name_of(const FIX::SessionID& id) {
    return session_name(id.getSenderCompID().getValue(), id.getTargetCompID().getValue());
}

std::string msg_type_of(const FIX::Message& m) {
    FIX::MsgType t;
    if (m.getHeader().getFieldIfSet(t)) return t.getValue();
    return std::string();
}

}  // namespace

class engine::impl : public FIX::Application, public FIX::LogFactory {
  public:
    explicit impl(const session_settings& s) : cfg_(s) {
        fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (fd_ < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
        try {
            build_settings();
            if (!cfg_.data_dictionary.empty()) dictionary_.readFromURL(cfg_.data_dictionary);
            store_.reset(new FIX::FileStoreFactory(settings_));
            if (cfg_.acceptor) {
                if (cfg_.tls) {
                    acceptor_.reset(new FIX::SSLSocketAcceptor(*this, *store_, settings_, *this));
                } else {
                    acceptor_.reset(new FIX::SocketAcceptor(*this, *store_, settings_, *this));
                }
            } else if (cfg_.tls) {
                initiator_.reset(new FIX::SSLSocketInitiator(*this, *store_, settings_, *this));
            } else {
                initiator_.reset(new FIX::SocketInitiator(*this, *store_, settings_, *this));
            }
        } catch (const FIX::Exception& e) {
            ::close(fd_);
            throw std::runtime_error(e.what());
        } catch (...) {
            ::close(fd_);
            throw;
        }
    }

    ~impl() override {
        stop();
        acceptor_.reset();
        initiator_.reset();
        ::close(fd_);
    }

    void start() {
        try {
            if (acceptor_) acceptor_->start();
            if (initiator_) initiator_->start();
        } catch (const FIX::Exception& e) {
            throw std::runtime_error(e.what());
        }
        started_ = true;
    }

    void stop() {
        if (!started_) return;
        started_ = false;
        // Log out ourselves and wait in short steps: QuickFIX's own stop() waits for the
        // Logout replies in whole seconds, blocking the caller's loop for at least one.
        for (const auto& id : ids_) {
            FIX::Session* s = FIX::Session::lookupSession(id);
            if (s != nullptr && s->isLoggedOn()) s->logout("stopping");
        }
        for (int i = 0; i < 200 && any_logged_on(); ++i) ::usleep(5000);
        if (acceptor_) acceptor_->stop(true);
        if (initiator_) initiator_->stop(true);
    }

    bool any_logged_on() const {
        for (const auto& id : ids_) {
            FIX::Session* s = FIX::Session::lookupSession(id);
            if (s != nullptr && s->isLoggedOn()) return true;
        }
        return false;
    }

    // FIX::Application, on QuickFIX's thread.
    void onCreate(const FIX::SessionID&) override {}
    void onLogon(const FIX::SessionID& id) override { push(event::logon, id, "", ""); }
    void onLogout(const FIX::SessionID& id) override { push(event::logout, id, "", ""); }
    void toAdmin(FIX::Message& m, const FIX::SessionID& id) override {
        const std::string type = msg_type_of(m);
        if (type == "A" && !cfg_.password.empty()) m.setField(554, cfg_.password);
        if (type == "3") push(event::reject_sent, id, m.toString(), "");
    }
    void toApp(FIX::Message& m, const FIX::SessionID& id) throw(FIX::DoNotSend) override {
        if (!cfg_.resend_app_messages) {
            FIX::PossDupFlag dup;
            if (m.getHeader().getFieldIfSet(dup) && dup.getValue()) {
                push(event::log, id, "", "not resending " + msg_type_of(m) + " (gap fill)");
                throw FIX::DoNotSend();
            }
        }
        if (msg_type_of(m) == "j") push(event::reject_sent, id, m.toString(), "");
    }
    void fromAdmin(const FIX::Message& m,
                   const FIX::SessionID& id) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                                   FIX::IncorrectTagValue,
                                                   FIX::RejectLogon) override {
        const std::string type = msg_type_of(m);
        if (type == "0" || type == "1") return;  // heartbeats and test requests: QuickFIX's
        push(event::admin_message, id, m.toString(), "");
    }
    void fromApp(const FIX::Message& m,
                 const FIX::SessionID& id) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                                 FIX::IncorrectTagValue,
                                                 FIX::UnsupportedMessageType) override {
        push(event::app_message, id, m.toString(), "");
    }

    // FIX::LogFactory: QuickFIX's event texts go to the loop (which logs them); the messages
    // themselves are not logged here (the store keeps what resends need).
    class event_log : public FIX::Log {
      public:
        event_log(impl& owner, std::string session) : owner_(owner), session_(std::move(session)) {}
        void clear() override {}
        void backup() override {}
        void onIncoming(const std::string&) override {}
        void onOutgoing(const std::string&) override {}
        void onEvent(const std::string& text) override {
            owner_.push_named(event::log, session_, "", text);
        }

      private:
        impl& owner_;
        std::string session_;
    };
    FIX::Log* create() override { return new event_log(*this, ""); }
    FIX::Log* create(const FIX::SessionID& id) override {
        return new event_log(*this, name_of(id));
    }
    void destroy(FIX::Log* log) override { delete log; }

    void push(event::kind_t kind, const FIX::SessionID& id, std::string raw, std::string text) {
        push_named(kind, name_of(id), std::move(raw), std::move(text));
    }

    void push_named(event::kind_t kind, std::string session, std::string raw, std::string text) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (queue_.size() >= engine::max_queued) {
                ++dropped_;
                if (overflowed_) return;
                overflowed_ = true;
                event e;
                e.kind = event::overflow;
                e.session = std::move(session);
                e.text = "event queue full (" + std::to_string(engine::max_queued) + ")";
                queue_.push_back(std::move(e));
            } else {
                event e;
                e.kind = kind;
                e.session = std::move(session);
                e.raw = std::move(raw);
                e.text = std::move(text);
                queue_.push_back(std::move(e));
            }
        }
        const std::uint64_t one = 1;
        ssize_t n;
        do {
            n = ::write(fd_, &one, sizeof one);
        } while (n < 0 && errno == EINTR);
    }

    std::vector<event> drain() {
        std::uint64_t count = 0;
        ssize_t n;
        do {
            n = ::read(fd_, &count, sizeof count);
        } while (n < 0 && errno == EINTR);
        std::vector<event> out;
        std::lock_guard<std::mutex> lock(mutex_);
        out.reserve(queue_.size());
        for (auto& e : queue_) out.push_back(std::move(e));
        queue_.clear();
        overflowed_ = false;
        return out;
    }

    FIX::Session* session(const std::string& name) const {
        if (name.empty()) return FIX::Session::lookupSession(ids_.front());
        auto it = by_name_.find(name);
        return it == by_name_.end() ? nullptr : FIX::Session::lookupSession(it->second);
    }

    bool send(const std::string& name, const std::string& msg_type, const std::string& body,
              std::string& error) {
        FIX::Session* s = session(name);
        if (s == nullptr) {
            error = "unknown FIX session \"" + name + "\"";
            return false;
        }
        const std::string content = "35=" + msg_type + soh + body;
        std::string text =
            "8=" + cfg_.begin_string + soh + "9=" + std::to_string(content.size()) + soh + content;
        unsigned sum = 0;
        for (char c : text) sum += static_cast<unsigned char>(c);
        char trailer[16];
        std::snprintf(trailer, sizeof trailer, "10=%03u%c", sum % 256, soh);
        text += trailer;
        try {
            FIX::Message m;
            if (cfg_.data_dictionary.empty()) {
                m.setString(text, true);
            } else {
                m.setString(text, true, &dictionary_, &dictionary_);
            }
            if (!s->send(m)) {
                error = "QuickFIX refused to send it";
                return false;
            }
        } catch (const FIX::Exception& e) {
            error = e.what();
            return false;
        } catch (const std::exception& e) {
            error = e.what();
            return false;
        }
        return true;
    }

    const session_settings cfg_;
    int fd_ = -1;
    std::uint64_t dropped_ = 0;  // under mutex_

  private:
    void build_settings() {
        FIX::Dictionary d;
        d.setString("ConnectionType", cfg_.acceptor ? "acceptor" : "initiator");
        d.setString("StartTime", "00:00:00");  // a session around the clock; sequence
        d.setString("EndTime", "00:00:00");    // numbers reset when a new UTC day begins
        d.setString("FileStorePath", cfg_.store_dir);
        d.setInt("HeartBtInt", cfg_.heartbeat_s);
        d.setInt("ReconnectInterval", cfg_.reconnect_s);
        d.setInt("LogonTimeout", cfg_.logon_timeout_s);
        d.setBool("ResetOnLogon", cfg_.reset_on_logon);
        d.setBool("PersistMessages", true);
        d.setBool("SocketNodelay", true);
        d.setBool("UseDataDictionary", !cfg_.data_dictionary.empty());
        // A venue's own tags (user-defined, or not in the dictionary's message) are read past,
        // not refused: refusing a report loses what it says.
        d.setBool("ValidateUserDefinedFields", false);
        d.setBool("AllowUnknownMsgFields", true);
        if (!cfg_.data_dictionary.empty()) d.setString("DataDictionary", cfg_.data_dictionary);
        if (cfg_.acceptor) {
            d.setInt("SocketAcceptPort", cfg_.port);
            d.setBool("SocketReuseAddress", true);
        } else {
            d.setString("SocketConnectHost", cfg_.host);
            d.setInt("SocketConnectPort", cfg_.port);
        }
        if (cfg_.tls) {
            d.setString("SSLProtocol", "-all +TLSv1_2 +TLSv1_3");
            if (!cfg_.tls_ca_file.empty())
                d.setString("CertificationAuthoritiesFile", cfg_.tls_ca_file);
            if (cfg_.acceptor) {
                d.setString("ServerCertificateFile", cfg_.tls_cert_file);
                d.setString("ServerCertificateKeyFile", cfg_.tls_key_file);
                d.setInt("CertificateVerifyLevel", cfg_.tls_ca_file.empty() ? 0 : 1);
            } else if (!cfg_.tls_cert_file.empty()) {
                d.setString("ClientCertificateFile", cfg_.tls_cert_file);
                d.setString("ClientCertificateKeyFile", cfg_.tls_key_file);
            }
        }
        settings_.set(d);
        std::vector<std::pair<std::string, std::string> > pairs;
        pairs.push_back(std::make_pair(cfg_.sender_comp_id, cfg_.target_comp_id));
        for (const auto& p : cfg_.more_sessions) pairs.push_back(p);
        for (const auto& p : pairs) {
            FIX::SessionID id(cfg_.begin_string, p.first, p.second);
            settings_.set(id, FIX::Dictionary());
            ids_.push_back(id);
            by_name_[session_name(p.first, p.second)] = id;
        }
    }

    FIX::SessionSettings settings_;
    FIX::DataDictionary dictionary_;
    std::unique_ptr<FIX::FileStoreFactory> store_;
    std::unique_ptr<FIX::Acceptor> acceptor_;
    std::unique_ptr<FIX::Initiator> initiator_;
    std::vector<FIX::SessionID> ids_;
    std::map<std::string, FIX::SessionID> by_name_;
    bool started_ = false;

    std::mutex mutex_;
    std::deque<event> queue_;
    bool overflowed_ = false;

    friend class engine;
};

engine::engine(const session_settings& settings) : impl_(new impl(settings)) {}
engine::~engine() = default;
void engine::start() { impl_->start(); }
void engine::stop() { impl_->stop(); }
int engine::event_fd() const { return impl_->fd_; }
std::vector<event> engine::drain() { return impl_->drain(); }

bool engine::send(const std::string& session, const std::string& msg_type, const std::string& body,
                  std::string& error) {
    return impl_->send(session, msg_type, body, error);
}

std::vector<std::string> engine::sent_messages(const std::string& session) const {
    std::vector<std::string> out;
    FIX::Session* s = impl_->session(session);
    if (s == nullptr) return out;
    try {
        const FIX::MessageStore* store = s->getStore();
        const int next = store->getNextSenderMsgSeqNum();
        if (next > 1) store->get(1, next - 1, out);
    } catch (const FIX::Exception& e) {
        throw std::runtime_error(std::string("reading the FIX store: ") + e.what());
    }
    return out;
}

void engine::disconnect(const std::string& session) {
    if (FIX::Session* s = impl_->session(session)) s->disconnect();
}

bool engine::logged_on(const std::string& session) const {
    FIX::Session* s = impl_->session(session);
    return s != nullptr && s->isLoggedOn();
}

std::uint64_t engine::next_sender_seq(const std::string& session) const {
    FIX::Session* s = impl_->session(session);
    return s == nullptr ? 0 : static_cast<std::uint64_t>(s->getExpectedSenderNum());
}

std::uint64_t engine::next_target_seq(const std::string& session) const {
    FIX::Session* s = impl_->session(session);
    return s == nullptr ? 0 : static_cast<std::uint64_t>(s->getExpectedTargetNum());
}

std::uint64_t engine::dropped() const {
    std::lock_guard<std::mutex> lock(impl_->mutex_);
    return impl_->dropped_;
}

}  // namespace fix
}  // namespace tradebus
