#include "tests/support/fake_app.hpp"

#include "mappers/webhook_signature.hpp"
#include "server/tls.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <list>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace scimbridge::tests {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

std::string header_or_empty(const std::map<std::string, std::string>& headers,
                            const std::string& name) {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
}

const boost::json::object* object_at(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_object() ? &v->as_object() : nullptr;
}

std::string string_at(const boost::json::object* o, std::string_view key) {
    const auto* v = o == nullptr ? nullptr : o->if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::optional<std::int64_t> int_at(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v != nullptr && v->is_int64()) {
        return v->as_int64();
    }
    return std::nullopt;
}

// A resync batch is a question about what the app holds, not an event: never applied.
bool is_resync(const boost::json::value& body) {
    return body.is_object() && string_at(&body.as_object(), "type") == "resync.batch";
}

// Whether a listed resource disagrees with what is held: an older version, or one side blocked
// and the other not (a listed resource without a state, a group, is not compared on it).
bool is_stale(const FakeApp::Held& held, std::int64_t listed_version,
              const std::string& listed_state) {
    const bool blocked_differs =
        !listed_state.empty() && (listed_state == "blocked") != (held.state == "blocked");
    return held.version < listed_version || blocked_differs;
}

const boost::json::array& array_at(const boost::json::object& o, std::string_view key) {
    static const boost::json::array none;
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_array() ? v->as_array() : none;
}

boost::json::array to_array(std::vector<std::string> ids) {
    std::sort(ids.begin(), ids.end());  // the held model is unordered; answers should not be
    boost::json::array out;
    out.reserve(ids.size());
    for (auto& id : ids) {
        out.emplace_back(std::move(id));
    }
    return out;
}

}  // namespace

// The sockets and threads: an acceptor driven by its own io_context on one thread, and one
// thread per connection doing blocking reads and writes.
struct FakeApp::Net {
    FakeApp& app;
    net::io_context ioc;
    tcp::acceptor acceptor{ioc};
    std::optional<ssl::context> tls;
    std::thread accept_thread;
    struct Worker {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done;
    };
    std::list<Worker> workers;  // touched by the accept thread only, until stop()

    explicit Net(FakeApp& a) : app(a) {
        if (app.options_.tls) {
            tls.emplace(server::make_tls_context(app.options_.cert_file, app.options_.key_file));
        }
        const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), 0);
        acceptor.open(endpoint.protocol());
        acceptor.set_option(net::socket_base::reuse_address(true));
        acceptor.bind(endpoint);
        acceptor.listen(net::socket_base::max_listen_connections);
        app.port_ = acceptor.local_endpoint().port();
        accept_next();
        accept_thread = std::thread([this] { ioc.run(); });
    }

    void accept_next() {
        acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
            if (ec) {
                return;  // closed: stopping
            }
            reap();
            {
                const std::lock_guard lock(app.mutex_);
                ++app.connections_;
            }
            auto done = std::make_shared<std::atomic<bool>>(false);
            workers.push_back(Worker{std::thread([this, done, s = std::move(socket)]() mutable {
                                         serve(std::move(s));
                                         done->store(true);
                                     }),
                                     done});
            accept_next();
        });
    }

    void reap() {
        for (auto it = workers.begin(); it != workers.end();) {
            if (it->done->load()) {
                it->thread.join();
                it = workers.erase(it);
            } else {
                ++it;
            }
        }
    }

    void stop() {
        net::post(ioc, [this] {
            beast::error_code ignored;
            acceptor.close(ignored);
        });
        accept_thread.join();
        for (auto& w : workers) {
            w.thread.join();
        }
        workers.clear();
    }

    void serve(tcp::socket socket) {
        const int fd = socket.native_handle();
        if (!app.register_connection(fd)) {
            return;
        }
        bool abrupt = false;
        if (tls) {
            ssl::stream<tcp::socket&> stream(socket, *tls);
            beast::error_code ec;
            stream.handshake(ssl::stream_base::server, ec);
            if (!ec) {
                abrupt = serve_requests(stream);
            }
        } else {
            abrupt = serve_requests(socket);
        }
        app.unregister_connection(fd);  // before the descriptor number can be reused
        beast::error_code ignored;
        if (abrupt) {
            socket.set_option(net::socket_base::linger(true, 0), ignored);
        } else {
            socket.shutdown(tcp::socket::shutdown_send, ignored);
        }
        socket.close(ignored);
    }

    // Serves requests until the connection ends; true when it must end with a reset.
    template <class Stream>
    bool serve_requests(Stream& stream) {
        beast::flat_buffer buffer;
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(16 * 1024 * 1024);
            beast::error_code ec;
            http::read(stream, buffer, parser, ec);
            if (ec) {
                return false;
            }
            const auto& req = parser.get();
            Incoming in;
            in.method = std::string(req.method_string());
            in.target = std::string(req.target());
            for (const auto& field : req) {
                in.headers[lower(field.name_string())] = std::string(field.value());
            }
            in.body = req.body();
            const Reply reply = app.handle(in);
            switch (reply.kind) {
                case Reply::Kind::kStop:
                    return false;
                case Reply::Kind::kReset:
                    return true;
                case Reply::Kind::kRespond:
                case Reply::Kind::kDrip:
                    break;
            }
            http::response<http::string_body> res{static_cast<http::status>(reply.status), 11};
            res.set(http::field::server, "scim-bridge-fake-app");
            for (const auto& [name, value] : reply.headers) {
                res.set(name, value);
            }
            res.body() = reply.body;
            res.keep_alive(req.keep_alive());
            res.prepare_payload();
            if (reply.kind == Reply::Kind::kDrip) {
                std::ostringstream text;
                text << res;
                const std::string bytes = text.str();
                for (const char c : bytes) {
                    net::write(stream, net::buffer(&c, 1), ec);
                    if (ec || !app.pause(reply.drip_interval)) {
                        return false;
                    }
                }
            } else {
                http::write(stream, res, ec);
                if (ec) {
                    return false;
                }
            }
            if (!res.keep_alive()) {
                return false;
            }
        }
    }
};

FakeApp::FakeApp(FakeAppOptions options) : options_(std::move(options)) {
    if (options_.tls && (options_.cert_file.empty() || options_.key_file.empty())) {
        throw std::invalid_argument("FakeApp: tls needs cert_file and key_file");
    }
    net_ = std::make_unique<Net>(*this);
}

FakeApp::~FakeApp() {
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
        for (const int fd : open_fds_) {
            ::shutdown(fd, SHUT_RDWR);  // wakes threads blocked reading a keep-alive connection
        }
    }
    changed_.notify_all();  // wakes hung and dripping requests
    net_->stop();
    net_.reset();
}

std::string FakeApp::url(std::string_view path, std::string_view host) const {
    return std::string(options_.tls ? "https://" : "http://") + std::string(host) + ":" +
           std::to_string(port_) + std::string(path);
}

std::string FakeApp::own_url(const std::string& target) const {
    return std::string(options_.tls ? "https://" : "http://") + "127.0.0.1:" +
           std::to_string(port_) + target;
}

bool FakeApp::register_connection(int fd) {
    const std::lock_guard lock(mutex_);
    if (stopping_) {
        return false;
    }
    open_fds_.insert(fd);
    return true;
}

void FakeApp::unregister_connection(int fd) {
    {
        const std::lock_guard lock(mutex_);
        open_fds_.erase(fd);
    }
    changed_.notify_all();
}

bool FakeApp::pause(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex_);
    return !changed_.wait_for(lock, d, [this] { return stopping_; });
}

void FakeApp::set_behaviour(Behaviour b) {
    {
        const std::lock_guard lock(mutex_);
        behaviour_ = b;
        ++generation_;
    }
    changed_.notify_all();
}

void FakeApp::respond_ok(std::optional<std::string> account_id) {
    {
        const std::lock_guard lock(mutex_);
        account_id_ = std::move(account_id);
    }
    set_behaviour(Behaviour{});
}

void FakeApp::fail_with(int status, std::optional<std::size_t> times) {
    Behaviour b;
    b.mode = Mode::kStatus;
    b.status = status;
    b.remaining = times;
    set_behaviour(b);
}

void FakeApp::throttle(int retry_after_seconds, std::optional<std::size_t> times) {
    Behaviour b;
    b.mode = Mode::kStatus;
    b.status = 429;
    b.retry_after = retry_after_seconds;
    b.remaining = times;
    set_behaviour(b);
}

void FakeApp::hang() {
    Behaviour b;
    b.mode = Mode::kHang;
    set_behaviour(b);
}

void FakeApp::slow_drip(std::chrono::milliseconds per_byte) {
    Behaviour b;
    b.mode = Mode::kSlowDrip;
    b.drip = per_byte;
    set_behaviour(b);
}

void FakeApp::reset(std::optional<std::size_t> times) {
    Behaviour b;
    b.mode = Mode::kReset;
    b.remaining = times;
    set_behaviour(b);
}

void FakeApp::redirect() {
    Behaviour b;
    b.mode = Mode::kRedirect;
    set_behaviour(b);
}

void FakeApp::huge_body(std::size_t bytes) {
    Behaviour b;
    b.mode = Mode::kHugeBody;
    b.huge_bytes = bytes;
    set_behaviour(b);
}

void FakeApp::apply_then_drop(std::optional<std::size_t> times) {
    Behaviour b;
    b.mode = Mode::kApplyThenDrop;
    b.remaining = times;
    set_behaviour(b);
}

void FakeApp::set_secrets(std::vector<std::string> secrets) {
    const std::lock_guard lock(mutex_);
    options_.secrets = std::move(secrets);
}

void FakeApp::close_connections() {
    const std::lock_guard lock(mutex_);
    for (const int fd : open_fds_) {
        ::shutdown(fd, SHUT_RDWR);
    }
}

// Idempotent by webhook-id: the first request with an id applies it, later ones do not.
void FakeApp::apply_locked(FakeAppRecord& record) {
    if (is_resync(record.body) || record.webhook_id.empty() ||
        !applied_ids_.insert(record.webhook_id).second) {
        return;
    }
    record.applied = true;
    if (!record.body.is_object()) {
        return;
    }
    // The bridge's webhook body has {"resource": {"type", "id", "version"}, ...}; a flat
    // {"resource_id", "version"} is read too.
    const auto& top = record.body.as_object();
    const auto* nested = top.if_contains("resource");
    const bool is_nested = nested != nullptr && nested->is_object();
    const auto& o = is_nested ? nested->as_object() : top;
    const auto* rid = o.if_contains(is_nested ? "id" : "resource_id");
    const auto* version = o.if_contains("version");
    if (rid == nullptr || !rid->is_string()) {
        return;
    }
    const std::string id(rid->as_string());
    if (version != nullptr && version->is_int64()) {
        applied_versions_[id].push_back(version->as_int64());
    }
    hold_event_locked(top, id, is_nested ? &o : nullptr);
}

// What an applied event leaves the app holding. user.deleted keeps a blocked record: the
// bridge's default for deletions is to deactivate, and the app still has the account.
void FakeApp::hold_event_locked(const boost::json::object& event, const std::string& id,
                                const boost::json::object* resource) {
    const std::string type = string_at(&event, "type");
    if (type == "group.deleted") {
        held_.erase(id);
        return;
    }
    Held& h = held_[id];
    h.type = string_at(resource, "type");
    if (h.type.empty()) {  // a flat body: the event type tells
        h.type = type.starts_with("group.") ? "Group" : "User";
    }
    if (const auto version = int_at(resource != nullptr ? *resource : event, "version")) {
        h.version = *version;
    }
    if (const auto* data = object_at(event, "data"); data != nullptr && !data->empty()) {
        h.data = *data;
    }
    if (const std::string state = string_at(object_at(event, "account"), "state");
        !state.empty()) {
        h.state = state;
    } else if (type == "user.deactivated") {
        h.state = "blocked";
    }
    if (type == "user.deleted") {
        h.state = "blocked";
    }
}

// The 200 of a healthy app: a resync batch is answered from what the app holds, any other
// request is applied.
void FakeApp::answer_ok_locked(FakeAppRecord& record, Reply& reply) {
    reply.status = 200;
    if (is_resync(record.body)) {
        reply.body = resync_answer_locked(record.body.as_object());
        if (!reply.body.empty()) {
            reply.headers.emplace_back("Content-Type", "application/json");
        }
        return;
    }
    apply_locked(record);
    if (account_id_) {
        reply.headers.emplace_back("Content-Type", "application/json");
        boost::json::object body;
        body["account_id"] = *account_id_;
        reply.body = boost::json::serialize(body);
    }
}

// One batch of a resync run, compared with what is held: O(batch), plus O(held) on the final
// batch, which also names what the app holds but the run never listed (benchmarks list 100k).
std::string FakeApp::resync_answer_locked(const boost::json::object& batch) {
    ++resync_batches_;
    if (!options_.answer_resync) {
        return {};
    }
    const auto* run_info = object_at(batch, "resync");
    const std::string run = string_at(run_info, "run");
    const auto* final_flag = run_info == nullptr ? nullptr : run_info->if_contains("final");
    const bool last = final_flag != nullptr && final_flag->is_bool() && final_flag->as_bool();
    auto& listed = resync_runs_[run];
    std::vector<std::string> missing;
    std::vector<std::string> stale;
    for (const auto& item : array_at(batch, "resources")) {
        if (!item.is_object()) {
            continue;
        }
        const auto& r = item.as_object();
        std::string id = string_at(&r, "id");
        if (id.empty()) {
            continue;
        }
        const auto it = held_.find(id);
        if (it == held_.end() || it->second.type != string_at(&r, "type")) {
            missing.push_back(id);
        } else if (is_stale(it->second, int_at(r, "version").value_or(0),
                            string_at(&r, "state"))) {
            stale.push_back(id);
        }
        listed.insert(std::move(id));
    }
    std::vector<std::string> extra;
    if (last) {
        for (const auto& [id, h] : held_) {
            // Extra: what the app holds in use without being listed (a blocked account is not).
            if (!listed.contains(id) && h.state != "blocked") {
                extra.push_back(id);
            }
        }
        resync_runs_.erase(run);
    }
    return boost::json::serialize(boost::json::object{{"missing", to_array(std::move(missing))},
                                                      {"stale", to_array(std::move(stale))},
                                                      {"extra", to_array(std::move(extra))}});
}

FakeApp::Reply FakeApp::handle(const Incoming& request) {
    FakeAppRecord record;
    record.method = request.method;
    record.target = request.target;
    record.headers = request.headers;
    record.webhook_id = header_or_empty(request.headers, "webhook-id");
    record.raw_body = request.body;
    record.received_at = std::chrono::system_clock::now();
    beast::error_code ec;
    record.body = boost::json::parse(request.body, ec);
    if (ec) {
        record.body = nullptr;
    }

    std::unique_lock lock(mutex_);
    record.attempt = ++attempts_[record.webhook_id];
    if (!options_.secrets.empty()) {
        record.signature_valid = mappers::verify_webhook(
            options_.secrets, record.webhook_id,
            header_or_empty(request.headers, "webhook-timestamp"),
            header_or_empty(request.headers, "webhook-signature"), request.body,
            std::chrono::system_clock::now(), options_.tolerance);
    }
    // Records are addressed by their number since the app started: clear() may run while this
    // request hangs.
    const std::size_t number = cleared_ + records_.size();
    records_.push_back(record);
    changed_.notify_all();
    const auto stored = [&]() -> FakeAppRecord* {
        return number >= cleared_ && number - cleared_ < records_.size()
                   ? &records_[number - cleared_]
                   : nullptr;
    };

    Reply reply;
    if (record.signature_valid == false) {
        ++invalid_signatures_;
        reply.status = 401;
        reply.headers.emplace_back("Content-Type", "application/json");
        reply.body = R"({"error":"invalid signature"})";
        records_.back().status = reply.status;
        return reply;
    }

    // Hang until the behaviour changes (then answer the new way) or the app stops.
    while (behaviour_.mode == Mode::kHang) {
        const std::uint64_t seen = generation_;
        changed_.wait(lock, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) {
            reply.kind = Reply::Kind::kStop;
            return reply;
        }
    }

    const Behaviour b = behaviour_;
    if (behaviour_.remaining && --*behaviour_.remaining == 0) {
        behaviour_ = Behaviour{};
        ++generation_;
    }

    switch (b.mode) {
        case Mode::kOk:
        case Mode::kHang:
            answer_ok_locked(record, reply);
            break;
        case Mode::kStatus:
            reply.status = b.status;
            reply.headers.emplace_back("Content-Type", "application/json");
            reply.body = R"({"error":"injected failure"})";
            if (b.retry_after) {
                reply.headers.emplace_back("Retry-After", std::to_string(*b.retry_after));
            }
            break;
        case Mode::kSlowDrip:
            reply.kind = Reply::Kind::kDrip;
            reply.status = 200;
            reply.drip_interval = b.drip;
            break;
        case Mode::kReset:
            reply.kind = Reply::Kind::kReset;
            break;
        case Mode::kRedirect:
            reply.status = 307;
            reply.headers.emplace_back("Location", own_url(request.target));
            break;
        case Mode::kHugeBody:
            reply.status = 200;
            reply.headers.emplace_back("Content-Type", "text/plain");
            reply.body.assign(b.huge_bytes, 'x');
            break;
        case Mode::kApplyThenDrop:
            apply_locked(record);  // a resync batch has nothing to apply: only dropped
            reply.kind = Reply::Kind::kReset;
            break;
    }
    if (FakeAppRecord* r = stored()) {
        r->status = reply.kind == Reply::Kind::kReset ? 0 : reply.status;
        r->applied = record.applied;
    }
    changed_.notify_all();
    return reply;
}

std::vector<FakeAppRecord> FakeApp::records() const {
    const std::lock_guard lock(mutex_);
    return records_;
}

std::size_t FakeApp::request_count() const {
    const std::lock_guard lock(mutex_);
    return records_.size();
}

std::size_t FakeApp::invalid_signatures() const {
    const std::lock_guard lock(mutex_);
    return invalid_signatures_;
}

std::size_t FakeApp::connections_accepted() const {
    const std::lock_guard lock(mutex_);
    return connections_;
}

std::size_t FakeApp::open_connections() const {
    const std::lock_guard lock(mutex_);
    return open_fds_.size();
}

std::size_t FakeApp::applied_count() const {
    const std::lock_guard lock(mutex_);
    return applied_ids_.size();
}

bool FakeApp::applied(const std::string& webhook_id) const {
    const std::lock_guard lock(mutex_);
    return applied_ids_.count(webhook_id) != 0;
}

int FakeApp::attempts(const std::string& webhook_id) const {
    const std::lock_guard lock(mutex_);
    const auto it = attempts_.find(webhook_id);
    return it == attempts_.end() ? 0 : it->second;
}

std::map<std::string, std::vector<std::int64_t>> FakeApp::applied_versions() const {
    const std::lock_guard lock(mutex_);
    return applied_versions_;
}

FakeApp::OrderReport FakeApp::check_order() const {
    const std::lock_guard lock(mutex_);
    OrderReport report;
    for (const auto& [resource, versions] : applied_versions_) {
        for (std::size_t i = 1; i < versions.size(); ++i) {
            if (versions[i] < versions[i - 1]) {
                report.ok = false;
                report.violations.push_back(resource + ": version " +
                                            std::to_string(versions[i]) + " applied after " +
                                            std::to_string(versions[i - 1]));
            }
        }
    }
    return report;
}

void FakeApp::hold(std::string id, std::string type, std::int64_t version, std::string state,
                   boost::json::object data) {
    const std::lock_guard lock(mutex_);
    held_.insert_or_assign(std::move(id),
                           Held{std::move(type), version, std::move(state), std::move(data)});
}

void FakeApp::forget(const std::string& id) {
    const std::lock_guard lock(mutex_);
    held_.erase(id);
}

std::optional<FakeApp::Held> FakeApp::held(const std::string& id) const {
    const std::lock_guard lock(mutex_);
    const auto it = held_.find(id);
    return it == held_.end() ? std::nullopt : std::optional<Held>(it->second);
}

std::map<std::string, FakeApp::Held> FakeApp::held_all() const {
    const std::lock_guard lock(mutex_);
    return {held_.begin(), held_.end()};
}

std::size_t FakeApp::resync_batches() const {
    const std::lock_guard lock(mutex_);
    return resync_batches_;
}

bool FakeApp::wait_for_applied(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return applied_ids_.size() >= n; });
}

bool FakeApp::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return records_.size() >= n; });
}

bool FakeApp::wait_for_open_connections_at_most(std::size_t n,
                                                std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return open_fds_.size() <= n; });
}

bool FakeApp::wait_for_resync_batches(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return resync_batches_ >= n; });
}

void FakeApp::clear() {
    const std::lock_guard lock(mutex_);
    cleared_ += records_.size();
    records_.clear();
    attempts_.clear();
    applied_ids_.clear();
    applied_versions_.clear();
    invalid_signatures_ = 0;
    resync_batches_ = 0;
}

}  // namespace scimbridge::tests
