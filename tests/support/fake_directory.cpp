#include "tests/support/fake_directory.hpp"

#include <algorithm>
#include <atomic>
#include <list>
#include <stdexcept>
#include <sys/socket.h>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "server/tls.hpp"

namespace scimbridge::tests {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = net::ip::tcp;

namespace {

constexpr std::string_view kJwtBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer";
constexpr std::string_view kGoogleScopes[] = {
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "https://www.googleapis.com/auth/admin.directory.group.readonly",
    "https://www.googleapis.com/auth/admin.directory.group.member.readonly"};
constexpr std::string_view kUserSchema = "urn:ietf:params:scim:schemas:core:2.0:User";
constexpr std::string_view kGroupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";
constexpr std::string_view kEnterpriseSchema =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
constexpr std::string_view kListSchema = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// %XX decoded; '+' is a space only in forms (application/x-www-form-urlencoded).
std::string percent_decode(std::string_view s, bool form) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
            hex_value(s[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
            i += 2;
        } else if (form && s[i] == '+') {
            out.push_back(' ');
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

std::map<std::string, std::string> parse_pairs(std::string_view text, bool form) {
    std::map<std::string, std::string> out;
    while (!text.empty()) {
        const auto amp = text.find('&');
        const std::string_view pair = text.substr(0, amp);
        const auto eq = pair.find('=');
        if (!pair.empty()) {
            out[percent_decode(pair.substr(0, eq), form)] =
                eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1), form);
        }
        text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    }
    return out;
}

std::optional<std::string> base64url_decode(std::string_view in) {
    static constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (const char c : in) {
        const auto at = kAlphabet.find(c);
        if (at == std::string_view::npos) {
            return std::nullopt;
        }
        buffer = (buffer << 6U) | static_cast<std::uint32_t>(at);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buffer >> static_cast<unsigned>(bits)) & 0xffU));
        }
    }
    return out;
}

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    const long size = BIO_ctrl(bio, BIO_CTRL_INFO, 0, static_cast<void*>(&data));
    return std::string(data, static_cast<std::size_t>(size));
}

bool verify_rs256(const std::string& public_pem, std::string_view input, std::string_view sig) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size())), &BIO_free);
    if (!bio) {
        return false;
    }
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    if (!key || !ctx ||
        EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1) {
        return false;
    }
    return EVP_DigestVerify(ctx.get(),
                            reinterpret_cast<const unsigned char*>(sig.data()),
                            sig.size(),
                            reinterpret_cast<const unsigned char*>(input.data()),
                            input.size()) == 1;
}

std::optional<std::string> string_at(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || !v->is_string()) {
        return std::nullopt;
    }
    return std::string(v->get_string());
}

std::optional<std::int64_t> int_at(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || !v->is_int64()) {
        return std::nullopt;
    }
    return v->get_int64();
}

json::value or_null(const std::string& s) {
    return s.empty() ? json::value(nullptr) : json::value(s);
}

std::string full_name(const FakeDirectoryUser& u) {
    std::string out = u.given_name;
    if (!u.family_name.empty()) {
        out += out.empty() ? "" : " ";
        out += u.family_name;
    }
    return out;
}

std::size_t parse_count(const std::map<std::string, std::string>& query,
                        const std::string& key,
                        std::size_t fallback) {
    const auto it = query.find(key);
    if (it == query.end() || it->second.empty() || it->second.size() > 9 ||
        !std::all_of(
            it->second.begin(), it->second.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return fallback;
    }
    return static_cast<std::size_t>(std::stoul(it->second));
}

}  // namespace

RsaKeyPair generate_rsa_key() {
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
        EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nullptr), &EVP_PKEY_CTX_free);
    EVP_PKEY* raw = nullptr;
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), 2048) != 1 ||
        EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
        throw std::runtime_error("generate_rsa_key: key generation failed");
    }
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(raw, &EVP_PKEY_free);
    std::unique_ptr<BIO, decltype(&BIO_free)> priv(BIO_new(BIO_s_mem()), &BIO_free);
    std::unique_ptr<BIO, decltype(&BIO_free)> pub(BIO_new(BIO_s_mem()), &BIO_free);
    if (!priv || !pub ||
        PEM_write_bio_PrivateKey(priv.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
            1 ||
        PEM_write_bio_PUBKEY(pub.get(), key.get()) != 1) {
        throw std::runtime_error("generate_rsa_key: PEM encoding failed");
    }
    return {bio_text(priv.get()), bio_text(pub.get())};
}

// ---------------------------------------------------------------------------------------------
// The HTTP server: an acceptor on its own io_context thread, one thread per connection doing
// blocking reads and writes (as FakeApp does).

class FakeHttpServer {
public:
    struct Request {
        std::string method;
        std::string target;
        std::map<std::string, std::string> headers;
        std::string body;
    };
    struct Response {
        int status = 200;
        std::vector<std::pair<std::string, std::string>> headers;
        std::string body;
    };
    using Handler = std::function<Response(const Request&)>;

    FakeHttpServer(const FakeDirectoryOptions& options, Handler handler)
        : handler_(std::move(handler)) {
        if (options.tls) {
            if (options.cert_file.empty() || options.key_file.empty()) {
                throw std::invalid_argument("fake directory: tls needs cert_file and key_file");
            }
            tls_.emplace(server::make_tls_context(options.cert_file, options.key_file));
        }
        const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), 0);
        acceptor_.open(endpoint.protocol());
        acceptor_.set_option(net::socket_base::reuse_address(true));
        acceptor_.bind(endpoint);
        acceptor_.listen(net::socket_base::max_listen_connections);
        port_ = acceptor_.local_endpoint().port();
        accept_next();
        accept_thread_ = std::thread([this] { ioc_.run(); });
    }

    ~FakeHttpServer() { stop(); }
    FakeHttpServer(const FakeHttpServer&) = delete;
    FakeHttpServer& operator=(const FakeHttpServer&) = delete;

    unsigned short port() const { return port_; }

    void stop() {
        {
            const std::lock_guard lock(mutex_);
            if (stopping_) {
                return;
            }
            stopping_ = true;
            for (const int fd : open_fds_) {
                ::shutdown(fd, SHUT_RDWR);  // wakes threads blocked on keep-alive reads
            }
        }
        net::post(ioc_, [this] {
            beast::error_code ignored;
            acceptor_.close(ignored);
        });
        accept_thread_.join();
        for (auto& w : workers_) {
            w.thread.join();
        }
        workers_.clear();
    }

private:
    struct Worker {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done;
    };

    void accept_next() {
        acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
            if (ec) {
                return;  // closed: stopping
            }
            reap();
            auto done = std::make_shared<std::atomic<bool>>(false);
            workers_.push_back(Worker{std::thread([this, done, s = std::move(socket)]() mutable {
                                          serve(std::move(s));
                                          done->store(true);
                                      }),
                                      done});
            accept_next();
        });
    }

    void reap() {
        for (auto it = workers_.begin(); it != workers_.end();) {
            if (it->done->load()) {
                it->thread.join();
                it = workers_.erase(it);
            } else {
                ++it;
            }
        }
    }

    void serve(tcp::socket socket) {
        const int fd = socket.native_handle();
        {
            const std::lock_guard lock(mutex_);
            if (stopping_) {
                return;
            }
            open_fds_.insert(fd);
        }
        if (tls_) {
            ssl::stream<tcp::socket&> stream(socket, *tls_);
            beast::error_code ec;
            stream.handshake(ssl::stream_base::server, ec);
            if (!ec) {
                serve_requests(stream);
            }
        } else {
            serve_requests(socket);
        }
        {
            const std::lock_guard lock(mutex_);
            open_fds_.erase(fd);
        }
        beast::error_code ignored;
        socket.shutdown(tcp::socket::shutdown_send, ignored);
        socket.close(ignored);
    }

    template <class Stream>
    void serve_requests(Stream& stream) {
        beast::flat_buffer buffer;
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(1024 * 1024);
            beast::error_code ec;
            http::read(stream, buffer, parser, ec);
            if (ec) {
                return;
            }
            const auto& req = parser.get();
            Request in;
            in.method = std::string(req.method_string());
            in.target = std::string(req.target());
            for (const auto& field : req) {
                in.headers[lower(field.name_string())] = std::string(field.value());
            }
            in.body = req.body();
            const Response out = handler_(in);
            http::response<http::string_body> res{static_cast<http::status>(out.status), 11};
            res.set(http::field::server, "scim-bridge-fake-directory");
            for (const auto& [name, value] : out.headers) {
                res.set(name, value);
            }
            res.body() = out.body;
            res.keep_alive(req.keep_alive());
            res.prepare_payload();
            http::write(stream, res, ec);
            if (ec || !res.keep_alive()) {
                return;
            }
        }
    }

    Handler handler_;
    net::io_context ioc_;
    tcp::acceptor acceptor_{ioc_};
    std::optional<ssl::context> tls_;
    unsigned short port_ = 0;
    std::thread accept_thread_;
    std::list<Worker> workers_;  // the accept thread's, until stop()
    std::mutex mutex_;
    bool stopping_ = false;
    std::set<int> open_fds_;
};

// ---------------------------------------------------------------------------------------------
// FakeDirectory

FakeDirectory::FakeDirectory(FakeDirectoryOptions options) : options_(std::move(options)) {
    if (options_.page_size == 0) {
        options_.page_size = 1;
    }
}

FakeDirectory::~FakeDirectory() {
    stop();
}

void FakeDirectory::start(std::function<Reply(const Incoming&)> route) {
    server_ = std::make_unique<FakeHttpServer>(
        options_, [this, route = std::move(route)](const FakeHttpServer::Request& raw) {
            Incoming in;
            in.method = raw.method;
            in.target = raw.target;
            in.headers = raw.headers;
            in.body = raw.body;
            const auto q = raw.target.find('?');
            in.path = percent_decode(std::string_view(raw.target).substr(0, q), false);
            if (q != std::string::npos) {
                in.query = parse_pairs(std::string_view(raw.target).substr(q + 1), false);
            }
            Reply reply;
            {
                const std::lock_guard lock(mutex_);
                reply = route(in);
                record_locked(in, reply);
            }
            changed_.notify_all();
            FakeHttpServer::Response out;
            out.status = reply.status;
            out.body = std::move(reply.body);
            out.headers = std::move(reply.headers);
            out.headers.emplace_back("Content-Type", reply.content_type);
            return out;
        });
    port_ = server_->port();
}

void FakeDirectory::stop() {
    if (server_) {
        server_->stop();
    }
}

std::string FakeDirectory::url(std::string_view path) const {
    return std::string(options_.tls ? "https://" : "http://") +
           "127.0.0.1:" + std::to_string(port_) + std::string(path);
}

void FakeDirectory::record_locked(const Incoming& in, const Reply& reply) {
    FakeDirectoryRecord r;
    r.method = in.method;
    r.target = in.target;
    r.headers = in.headers;
    r.body = in.body;
    r.status = reply.status;
    r.token = reply.token_request;
    records_.push_back(std::move(r));
    if (reply.token_request) {
        ++token_requests_;
    }
}

void FakeDirectory::record_change_locked() {
    ++version_;
}

bool FakeDirectory::authorized(const Incoming& in) const {
    const auto it = in.headers.find("authorization");
    if (it == in.headers.end() || it->second.rfind("Bearer ", 0) != 0) {
        return false;
    }
    const auto token = tokens_.find(it->second.substr(7));
    return token != tokens_.end() && token->second > std::chrono::steady_clock::now();
}

std::string FakeDirectory::issue_token() {
    std::string token =
        "fake-token-" + std::to_string(++token_serial_) + "-" + std::to_string(port_);
    tokens_[token] = std::chrono::steady_clock::now() + options_.token_lifetime;
    return token;
}

void FakeDirectory::accept_token(std::string token) {
    const std::lock_guard lock(mutex_);
    tokens_[std::move(token)] = std::chrono::steady_clock::time_point::max();
}

FakeDirectory::Reply FakeDirectory::json_reply(int status, const json::value& body) {
    Reply r;
    r.status = status;
    r.body = json::serialize(body);
    return r;
}

FakeDirectory::Reply FakeDirectory::unauthorized(std::string_view message) {
    Reply r =
        json_reply(401, json::object{{"error", json::object{{"code", 401}, {"message", message}}}});
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
}

std::optional<FakeDirectory::Reply> FakeDirectory::injected_fault() {
    if (fault_times_ == 0) {
        return std::nullopt;
    }
    --fault_times_;
    Reply r = json_reply(
        fault_status_,
        json::object{
            {"error", json::object{{"code", fault_status_}, {"message", "injected failure"}}}});
    if (fault_retry_after_) {
        r.headers.emplace_back("Retry-After", std::to_string(*fault_retry_after_));
    }
    return r;
}

void FakeDirectory::put_user(FakeDirectoryUser user) {
    const std::lock_guard lock(mutex_);
    record_change_locked();
    removed_users_.erase(user.id);
    const std::string id = user.id;
    users_[id] = TrackedUser{std::move(user), version_};
}

bool FakeDirectory::remove_user(const std::string& id) {
    const std::lock_guard lock(mutex_);
    if (users_.erase(id) == 0) {
        return false;
    }
    record_change_locked();
    removed_users_[id] = version_;
    for (auto& [gid, g] : groups_) {
        auto& members = g.group.member_user_ids;
        if (std::find(members.begin(), members.end(), id) != members.end()) {
            members.erase(std::remove(members.begin(), members.end(), id), members.end());
            member_events_.push_back({version_, gid, id, false, true});
        }
    }
    return true;
}

void FakeDirectory::put_group(FakeDirectoryGroup group) {
    const std::lock_guard lock(mutex_);
    record_change_locked();
    removed_groups_.erase(group.id);
    const std::string id = group.id;
    const auto it = groups_.find(id);
    const FakeDirectoryGroup before = it != groups_.end() ? it->second.group : FakeDirectoryGroup{};
    const bool renamed = it == groups_.end() || before.name != group.name;
    const auto diff = [&](const std::vector<std::string>& old_ids,
                          const std::vector<std::string>& new_ids,
                          bool is_group) {
        for (const std::string& m : new_ids) {
            if (std::find(old_ids.begin(), old_ids.end(), m) == old_ids.end()) {
                member_events_.push_back({version_, id, m, is_group, false});
            }
        }
        for (const std::string& m : old_ids) {
            if (std::find(new_ids.begin(), new_ids.end(), m) == new_ids.end()) {
                member_events_.push_back({version_, id, m, is_group, true});
            }
        }
    };
    diff(before.member_user_ids, group.member_user_ids, false);
    diff(before.member_group_ids, group.member_group_ids, true);
    const std::uint64_t changed = renamed ? version_ : it->second.changed;
    groups_[id] = TrackedGroup{std::move(group), changed};
}

bool FakeDirectory::remove_group(const std::string& id) {
    const std::lock_guard lock(mutex_);
    if (groups_.erase(id) == 0) {
        return false;
    }
    record_change_locked();
    removed_groups_[id] = version_;
    for (auto& [gid, g] : groups_) {
        auto& members = g.group.member_group_ids;
        if (std::find(members.begin(), members.end(), id) != members.end()) {
            members.erase(std::remove(members.begin(), members.end(), id), members.end());
            member_events_.push_back({version_, gid, id, true, true});
        }
    }
    return true;
}

bool FakeDirectory::add_member(const std::string& group_id,
                               const std::string& member_id,
                               bool is_group) {
    const std::lock_guard lock(mutex_);
    const auto it = groups_.find(group_id);
    if (it == groups_.end()) {
        return false;
    }
    auto& members = is_group ? it->second.group.member_group_ids : it->second.group.member_user_ids;
    if (std::find(members.begin(), members.end(), member_id) != members.end()) {
        return true;
    }
    record_change_locked();
    members.push_back(member_id);
    member_events_.push_back({version_, group_id, member_id, is_group, false});
    return true;
}

bool FakeDirectory::remove_member(const std::string& group_id, const std::string& member_id) {
    const std::lock_guard lock(mutex_);
    const auto it = groups_.find(group_id);
    if (it == groups_.end()) {
        return false;
    }
    for (const bool is_group : {false, true}) {
        auto& members =
            is_group ? it->second.group.member_group_ids : it->second.group.member_user_ids;
        const auto at = std::find(members.begin(), members.end(), member_id);
        if (at != members.end()) {
            record_change_locked();
            members.erase(at);
            member_events_.push_back({version_, group_id, member_id, is_group, true});
            return true;
        }
    }
    return false;
}

std::vector<FakeDirectoryUser> FakeDirectory::users() const {
    const std::lock_guard lock(mutex_);
    std::vector<FakeDirectoryUser> out;
    for (const auto& [id, u] : users_) {
        out.push_back(u.user);
    }
    return out;
}

std::vector<FakeDirectoryGroup> FakeDirectory::groups() const {
    const std::lock_guard lock(mutex_);
    std::vector<FakeDirectoryGroup> out;
    for (const auto& [id, g] : groups_) {
        out.push_back(g.group);
    }
    return out;
}

void FakeDirectory::fail_next(int status, std::size_t times, std::optional<int> retry_after) {
    const std::lock_guard lock(mutex_);
    fault_status_ = status;
    fault_times_ = times;
    fault_retry_after_ = retry_after;
}

std::vector<FakeDirectoryRecord> FakeDirectory::records() const {
    const std::lock_guard lock(mutex_);
    return records_;
}

std::size_t FakeDirectory::request_count() const {
    const std::lock_guard lock(mutex_);
    return records_.size();
}

std::size_t FakeDirectory::token_requests() const {
    const std::lock_guard lock(mutex_);
    return token_requests_;
}

std::size_t FakeDirectory::rejected_tokens() const {
    const std::lock_guard lock(mutex_);
    return rejected_tokens_;
}

std::size_t FakeDirectory::unauthorized_requests() const {
    const std::lock_guard lock(mutex_);
    return unauthorized_;
}

bool FakeDirectory::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return records_.size() >= n; });
}

void FakeDirectory::clear_records() {
    const std::lock_guard lock(mutex_);
    records_.clear();
    token_requests_ = 0;
    rejected_tokens_ = 0;
    unauthorized_ = 0;
}

// ---------------------------------------------------------------------------------------------
// Google

namespace {

// A page of `items` from offset `pageToken` ("o<offset>"): the items, and the next token or "".
template <class T>
std::pair<std::vector<const T*>, std::string> google_page(
    const std::vector<const T*>& all,
    const std::map<std::string, std::string>& query,
    std::size_t page_size,
    bool* bad_token) {
    std::size_t offset = 0;
    if (const auto it = query.find("pageToken"); it != query.end()) {
        if (it->second.size() < 2 || it->second[0] != 'o') {
            *bad_token = true;
            return {};
        }
        offset = parse_count({{"o", it->second.substr(1)}}, "o", all.size() + 1);
        if (offset > all.size()) {
            *bad_token = true;
            return {};
        }
    }
    const std::size_t size = std::min(parse_count(query, "maxResults", page_size), page_size);
    const std::size_t end = std::min(all.size(), offset + std::max<std::size_t>(size, 1));
    std::vector<const T*> items(all.begin() + static_cast<std::ptrdiff_t>(offset),
                                all.begin() + static_cast<std::ptrdiff_t>(end));
    return {items, end < all.size() ? "o" + std::to_string(end) : std::string()};
}

}  // namespace

FakeGoogleDirectory::FakeGoogleDirectory(std::string public_key_pem, FakeDirectoryOptions options)
    : FakeDirectory(std::move(options)), public_key_pem_(std::move(public_key_pem)) {
    start([this](const Incoming& in) { return route(in); });
}

FakeGoogleDirectory::~FakeGoogleDirectory() {
    stop();
}

json::object FakeGoogleDirectory::source_config(const std::string& private_key_pem,
                                                const std::string& subject) const {
    return json::object{
        {"kind", "google"},
        {"service_account",
         json::object{{"type", "service_account"},
                      {"client_email", "scim-bridge@fake-project.iam.gserviceaccount.com"},
                      {"private_key", private_key_pem},
                      {"token_uri", token_uri()}}},
        {"subject", subject},
        {"base_url", base_url()}};
}

std::string FakeGoogleDirectory::last_issuer() const {
    const std::lock_guard lock(mutex_);
    return last_issuer_;
}

std::string FakeGoogleDirectory::last_subject() const {
    const std::lock_guard lock(mutex_);
    return last_subject_;
}

FakeDirectory::Reply FakeGoogleDirectory::token(const Incoming& in) {
    const auto refuse = [this](std::string_view why) {
        ++rejected_tokens_;
        Reply r =
            json_reply(400, json::object{{"error", "invalid_grant"}, {"error_description", why}});
        r.token_request = true;
        return r;
    };
    const auto form = parse_pairs(in.body, true);
    const auto grant = form.find("grant_type");
    const auto assertion = form.find("assertion");
    if (grant == form.end() || grant->second != kJwtBearerGrant || assertion == form.end()) {
        return refuse("grant_type must be the JWT bearer grant with an assertion");
    }
    const std::string& jwt = assertion->second;
    const auto dot1 = jwt.find('.');
    const auto dot2 = jwt.rfind('.');
    if (dot1 == std::string::npos || dot2 == dot1) {
        return refuse("Invalid JWT: not three parts");
    }
    const auto header_text = base64url_decode(std::string_view(jwt).substr(0, dot1));
    const auto claims_text =
        base64url_decode(std::string_view(jwt).substr(dot1 + 1, dot2 - dot1 - 1));
    const auto signature = base64url_decode(std::string_view(jwt).substr(dot2 + 1));
    if (!header_text || !claims_text || !signature) {
        return refuse("Invalid JWT: not base64url");
    }
    json::error_code ec1;
    json::error_code ec2;
    const json::value header = json::parse(*header_text, ec1);
    const json::value claims = json::parse(*claims_text, ec2);
    if (ec1 || ec2 || !header.is_object() || !claims.is_object()) {
        return refuse("Invalid JWT: not JSON");
    }
    if (string_at(header.get_object(), "alg") != "RS256") {
        return refuse("Invalid JWT: alg must be RS256");
    }
    if (!verify_rs256(public_key_pem_, std::string_view(jwt).substr(0, dot2), *signature)) {
        return refuse("Invalid JWT Signature.");
    }
    const json::object& c = claims.get_object();
    const auto iss = string_at(c, "iss");
    const auto sub = string_at(c, "sub");
    const auto scope = string_at(c, "scope");
    const auto iat = int_at(c, "iat");
    const auto exp = int_at(c, "exp");
    const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    if (!iss || iss->empty() || string_at(c, "aud") != token_uri()) {
        return refuse("Invalid JWT: iss missing or aud is not the token URI");
    }
    if (!scope ||
        !std::all_of(std::begin(kGoogleScopes), std::end(kGoogleScopes), [&](std::string_view s) {
            return scope->find(s) != std::string::npos;
        })) {
        return refuse("Invalid JWT: the Directory read-only scopes are missing");
    }
    if (!iat || !exp || *exp <= now || *iat > now + 300 || *exp - *iat > 3600) {
        return refuse(
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
            "reasonable timeframe.");
    }
    last_issuer_ = *iss;
    last_subject_ = sub.value_or("");
    Reply r = json_reply(200,
                         json::object{{"access_token", issue_token()},
                                      {"expires_in", options_.token_lifetime.count()},
                                      {"token_type", "Bearer"}});
    r.token_request = true;
    return r;
}

json::object FakeGoogleDirectory::render_user(const FakeDirectoryUser& u) const {
    json::object out{{"kind", "admin#directory#user"},
                     {"id", u.id},
                     {"primaryEmail", u.email},
                     {"name",
                      json::object{{"givenName", u.given_name},
                                   {"familyName", u.family_name},
                                   {"fullName", full_name(u)}}},
                     {"isAdmin", false},
                     {"suspended", !u.active},
                     {"archived", false},
                     {"orgUnitPath", "/"}};
    if (!u.title.empty() || !u.department.empty()) {
        json::object org{{"primary", true}, {"customType", ""}};
        if (!u.title.empty()) {
            org["title"] = u.title;
        }
        if (!u.department.empty()) {
            org["department"] = u.department;
        }
        out["organizations"] = json::array{std::move(org)};
    }
    if (!u.employee_id.empty()) {
        out["externalIds"] =
            json::array{json::object{{"value", u.employee_id}, {"type", "organization"}}};
    }
    if (const auto m = users_.find(u.manager_id); !u.manager_id.empty() && m != users_.end()) {
        out["relations"] =
            json::array{json::object{{"value", m->second.user.email}, {"type", "manager"}}};
    }
    return out;
}

FakeDirectory::Reply FakeGoogleDirectory::route(const Incoming& in) {
    if (in.method == "POST" && in.path == "/token") {
        return token(in);
    }
    if (auto fault = injected_fault()) {
        return *fault;
    }
    if (!authorized(in)) {
        ++unauthorized_;
        return unauthorized("Invalid Credentials");
    }
    constexpr std::string_view kPrefix = "/admin/directory/v1/";
    if (in.method != "GET" || in.path.rfind(kPrefix, 0) != 0) {
        return json_reply(
            404, json::object{{"error", json::object{{"code", 404}, {"message", "Not Found"}}}});
    }
    const std::string rest = in.path.substr(kPrefix.size());
    bool bad_token = false;
    const auto bad_page_token = [] {
        return json_reply(
            400,
            json::object{{"error", json::object{{"code", 400}, {"message", "Invalid pageToken"}}}});
    };
    if (rest == "users") {
        std::vector<const FakeDirectoryUser*> all;
        for (const auto& [id, u] : users_) {
            all.push_back(&u.user);
        }
        const auto [items, next] = google_page(all, in.query, options_.page_size, &bad_token);
        if (bad_token) {
            return bad_page_token();
        }
        json::array users;
        for (const FakeDirectoryUser* u : items) {
            users.push_back(render_user(*u));
        }
        json::object page{{"kind", "admin#directory#users"}};
        if (!users.empty()) {
            page["users"] = std::move(users);  // Google leaves the member out when empty
        }
        if (!next.empty()) {
            page["nextPageToken"] = next;
        }
        return json_reply(200, page);
    }
    if (rest == "groups") {
        std::vector<const FakeDirectoryGroup*> all;
        for (const auto& [id, g] : groups_) {
            all.push_back(&g.group);
        }
        const auto [items, next] = google_page(all, in.query, options_.page_size, &bad_token);
        if (bad_token) {
            return bad_page_token();
        }
        json::array groups;
        for (const FakeDirectoryGroup* g : items) {
            groups.push_back(json::object{{"kind", "admin#directory#group"},
                                          {"id", g->id},
                                          {"email", lower(g->id) + "@groups.acme.test"},
                                          {"name", g->name}});
        }
        json::object page{{"kind", "admin#directory#groups"}};
        if (!groups.empty()) {
            page["groups"] = std::move(groups);
        }
        if (!next.empty()) {
            page["nextPageToken"] = next;
        }
        return json_reply(200, page);
    }
    constexpr std::string_view kGroups = "groups/";
    constexpr std::string_view kMembers = "/members";
    if (rest.rfind(kGroups, 0) == 0 && rest.size() > kGroups.size() + kMembers.size() &&
        rest.compare(rest.size() - kMembers.size(), kMembers.size(), kMembers) == 0) {
        const std::string id =
            rest.substr(kGroups.size(), rest.size() - kGroups.size() - kMembers.size());
        const auto group = groups_.find(id);
        if (group == groups_.end()) {
            return json_reply(
                404,
                json::object{
                    {"error",
                     json::object{{"code", 404}, {"message", "Resource Not Found: groupKey"}}}});
        }
        struct Member {
            std::string id;
            bool is_group;
        };
        std::vector<Member> members;
        for (const std::string& m : group->second.group.member_user_ids) {
            members.push_back({m, false});
        }
        for (const std::string& m : group->second.group.member_group_ids) {
            members.push_back({m, true});
        }
        std::vector<const Member*> all;
        for (const Member& m : members) {
            all.push_back(&m);
        }
        const auto [items, next] = google_page(all, in.query, options_.page_size, &bad_token);
        if (bad_token) {
            return bad_page_token();
        }
        json::array out;
        for (const Member* m : items) {
            std::string email = lower(m->id) + "@groups.acme.test";
            if (!m->is_group) {
                const auto u = users_.find(m->id);
                email = u != users_.end() ? u->second.user.email : m->id + "@external.test";
            }
            out.push_back(json::object{{"kind", "admin#directory#member"},
                                       {"id", m->id},
                                       {"email", email},
                                       {"role", "MEMBER"},
                                       {"type", m->is_group ? "GROUP" : "USER"},
                                       {"status", "ACTIVE"}});
        }
        json::object page{{"kind", "admin#directory#members"}};
        if (!out.empty()) {
            page["members"] = std::move(out);
        }
        if (!next.empty()) {
            page["nextPageToken"] = next;
        }
        return json_reply(200, page);
    }
    return json_reply(
        404, json::object{{"error", json::object{{"code", 404}, {"message", "Not Found"}}}});
}

// ---------------------------------------------------------------------------------------------
// Graph

FakeGraphDirectory::FakeGraphDirectory(std::string tenant_id,
                                       std::string client_id,
                                       std::string client_secret,
                                       FakeDirectoryOptions options)
    : FakeDirectory(std::move(options)),
      tenant_id_(std::move(tenant_id)),
      client_id_(std::move(client_id)),
      client_secret_(std::move(client_secret)) {
    start([this](const Incoming& in) { return route(in); });
}

FakeGraphDirectory::~FakeGraphDirectory() {
    stop();
}

void FakeGraphDirectory::expire_delta_links() {
    const std::lock_guard lock(mutex_);
    ++epoch_;
}

std::size_t FakeGraphDirectory::delta_listings() const {
    const std::lock_guard lock(mutex_);
    return delta_listings_;
}

json::object FakeGraphDirectory::source_config() const {
    return json::object{{"kind", "graph"},
                        {"tenant_id", tenant_id_},
                        {"client_id", client_id_},
                        {"client_secret", client_secret_},
                        {"login_url", url()},
                        {"graph_url", url()}};
}

FakeDirectory::Reply FakeGraphDirectory::token(const Incoming& in) {
    const auto form = parse_pairs(in.body, true);
    const auto field = [&](const std::string& key) {
        const auto it = form.find(key);
        return it == form.end() ? std::string() : it->second;
    };
    Reply r;
    if (field("grant_type") != "client_credentials" ||
        field("scope") != "https://graph.microsoft.com/.default") {
        ++rejected_tokens_;
        r = json_reply(400,
                       json::object{{"error", "invalid_request"},
                                    {"error_description",
                                     "AADSTS900144: grant_type client_credentials with the "
                                     ".default scope is required."}});
    } else if (field("client_id") != client_id_ || field("client_secret") != client_secret_) {
        ++rejected_tokens_;
        r = json_reply(
            401,
            json::object{{"error", "invalid_client"},
                         {"error_description", "AADSTS7000215: Invalid client secret provided."}});
    } else {
        r = json_reply(200,
                       json::object{{"token_type", "Bearer"},
                                    {"expires_in", options_.token_lifetime.count()},
                                    {"ext_expires_in", options_.token_lifetime.count()},
                                    {"access_token", issue_token()}});
    }
    r.token_request = true;
    return r;
}

json::object FakeGraphDirectory::render_user(const FakeDirectoryUser& u) const {
    return json::object{{"id", u.id},
                        {"userPrincipalName", u.email},
                        {"givenName", or_null(u.given_name)},
                        {"surname", or_null(u.family_name)},
                        {"displayName", or_null(full_name(u))},
                        {"mail", or_null(u.email)},
                        {"accountEnabled", u.active},
                        {"jobTitle", or_null(u.title)},
                        {"department", or_null(u.department)},
                        {"employeeId", or_null(u.employee_id)},
                        {"mobilePhone", nullptr},
                        {"businessPhones", json::array{}}};
}

FakeDirectory::Reply FakeGraphDirectory::route(const Incoming& in) {
    if (in.method == "POST" && in.path == "/" + tenant_id_ + "/oauth2/v2.0/token") {
        return token(in);
    }
    if (auto fault = injected_fault()) {
        return *fault;
    }
    if (!authorized(in)) {
        ++unauthorized_;
        return json_reply(
            401,
            json::object{{"error",
                          json::object{{"code", "InvalidAuthenticationToken"},
                                       {"message", "Access token is empty or invalid."}}}});
    }
    if (in.method == "GET" && in.path == "/v1.0/users/delta") {
        return delta(in, true);
    }
    if (in.method == "GET" && in.path == "/v1.0/groups/delta") {
        return delta(in, false);
    }
    return json_reply(404,
                      json::object{{"error",
                                    json::object{{"code", "Request_ResourceNotFound"},
                                                 {"message", "Not Found"}}}});
}

// A round is (since, full): a full round lists everything as it is; a delta round lists what
// changed after version `since`. Page links carry the round and an offset; the last page's
// deltaLink carries the version the round ended at. Links name the epoch they were issued in:
// after expire_delta_links() old ones are gone (410).
FakeDirectory::Reply FakeGraphDirectory::delta(const Incoming& in, bool users) {
    const auto gone = [] {
        return json_reply(410,
                          json::object{{"error",
                                        json::object{{"code", "syncStateNotFound"},
                                                     {"message", "Resync required."}}}});
    };
    std::uint64_t since = 0;
    bool full = true;
    std::size_t offset = 0;
    std::uint64_t upto = version_;
    const auto read_numbers = [](const std::string& text) {
        std::vector<std::uint64_t> out;
        std::size_t start = 0;
        while (start <= text.size()) {
            const auto dot = text.find('.', start);
            const std::string part =
                text.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
            if (part.empty() || part.size() > 18 ||
                !std::all_of(
                    part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
                return std::vector<std::uint64_t>{};
            }
            out.push_back(std::stoull(part));
            if (dot == std::string::npos) {
                break;
            }
            start = dot + 1;
        }
        return out;
    };
    if (const auto it = in.query.find("$deltatoken"); it != in.query.end()) {
        const auto n = read_numbers(it->second);  // epoch.version
        if (n.size() != 2 || n[0] != epoch_) {
            return gone();
        }
        since = n[1];
        full = false;
        ++delta_listings_;
    } else if (const auto skip = in.query.find("$skiptoken"); skip != in.query.end()) {
        const auto n = read_numbers(skip->second);  // epoch.since.full.upto.offset
        if (n.size() != 5 || n[0] != epoch_) {
            return gone();
        }
        since = n[1];
        full = n[2] == 1;
        upto = n[3];
        offset = static_cast<std::size_t>(n[4]);
    }

    json::array items;
    if (users) {
        std::map<std::string, json::value> listed;  // by id, removals included
        for (const auto& [id, u] : users_) {
            if (full || u.changed > since) {
                listed[id] = render_user(u.user);
            }
        }
        if (!full) {
            for (const auto& [id, removed_at] : removed_users_) {
                if (removed_at > since) {
                    listed[id] =
                        json::object{{"id", id}, {"@removed", json::object{{"reason", "deleted"}}}};
                }
            }
        }
        for (auto& [id, v] : listed) {
            items.push_back(std::move(v));
        }
    } else {
        std::map<std::string, json::value> listed;
        for (const auto& [id, g] : groups_) {
            json::array members;
            if (full) {
                for (const std::string& m : g.group.member_user_ids) {
                    members.push_back(
                        json::object{{"@odata.type", "#microsoft.graph.user"}, {"id", m}});
                }
                for (const std::string& m : g.group.member_group_ids) {
                    members.push_back(
                        json::object{{"@odata.type", "#microsoft.graph.group"}, {"id", m}});
                }
            } else {
                // The last change of each member since the round's start.
                std::map<std::string, const MemberEvent*> last;
                for (const MemberEvent& e : member_events_) {
                    if (e.group_id == id && e.version > since) {
                        last[e.member_id] = &e;
                    }
                }
                for (const auto& [mid, e] : last) {
                    json::object m{
                        {"@odata.type",
                         e->is_group ? "#microsoft.graph.group" : "#microsoft.graph.user"},
                        {"id", mid}};
                    if (e->removed) {
                        m["@removed"] = json::object{{"reason", "deleted"}};
                    }
                    members.push_back(std::move(m));
                }
                if (g.changed <= since && members.empty()) {
                    continue;
                }
            }
            listed[id] = json::object{
                {"id", id}, {"displayName", g.group.name}, {"members@delta", std::move(members)}};
        }
        if (!full) {
            for (const auto& [id, removed_at] : removed_groups_) {
                if (removed_at > since) {
                    listed[id] =
                        json::object{{"id", id}, {"@removed", json::object{{"reason", "deleted"}}}};
                }
            }
        }
        for (auto& [id, v] : listed) {
            items.push_back(std::move(v));
        }
    }

    const std::string path = users ? "/v1.0/users/delta" : "/v1.0/groups/delta";
    const std::size_t end = std::min(items.size(), offset + options_.page_size);
    json::array page_items;
    for (std::size_t i = std::min(offset, items.size()); i < end; ++i) {
        page_items.push_back(items[i]);
    }
    json::object page{{"@odata.context",
                       url("/v1.0/$metadata#" + std::string(users ? "users" : "groups") + "(id)")},
                      {"value", std::move(page_items)}};
    if (end < items.size()) {
        page["@odata.nextLink"] =
            url(path + "?$skiptoken=" + std::to_string(epoch_) + "." + std::to_string(since) + "." +
                (full ? "1" : "0") + "." + std::to_string(upto) + "." + std::to_string(end));
    } else {
        page["@odata.deltaLink"] =
            url(path + "?$deltatoken=" + std::to_string(epoch_) + "." + std::to_string(upto));
    }
    return json_reply(200, page);
}

// ---------------------------------------------------------------------------------------------
// SCIM

FakeScimSource::FakeScimSource(std::string bearer_token, FakeDirectoryOptions options)
    : FakeDirectory(std::move(options)), bearer_token_(std::move(bearer_token)) {
    accept_token(bearer_token_);
    start([this](const Incoming& in) { return route(in); });
}

FakeScimSource::~FakeScimSource() {
    stop();
}

json::object FakeScimSource::source_config(int page_size) const {
    return json::object{{"kind", "scim"},
                        {"base_url", base_url()},
                        {"bearer_token", bearer_token_},
                        {"page_size", page_size}};
}

json::object FakeScimSource::render_user(const FakeDirectoryUser& u) const {
    json::object out{
        {"schemas", json::array{kUserSchema, kEnterpriseSchema}},
        {"id", u.id},
        {"userName", u.email},
        {"active", u.active},
        {"emails",
         json::array{json::object{{"value", u.email}, {"type", "work"}, {"primary", true}}}},
        {"meta",
         json::object{{"resourceType", "User"}, {"location", base_url() + "/Users/" + u.id}}}};
    // A SCIM server leaves unassigned attributes out (RFC 7643 §2.5).
    json::object name;
    if (!u.given_name.empty()) {
        name["givenName"] = u.given_name;
    }
    if (!u.family_name.empty()) {
        name["familyName"] = u.family_name;
    }
    if (!name.empty()) {
        name["formatted"] = full_name(u);
        out["name"] = std::move(name);
        out["displayName"] = full_name(u);
    }
    if (!u.title.empty()) {
        out["title"] = u.title;
    }
    json::object enterprise;
    if (!u.department.empty()) {
        enterprise["department"] = u.department;
    }
    if (!u.employee_id.empty()) {
        enterprise["employeeNumber"] = u.employee_id;
    }
    if (!u.manager_id.empty()) {
        enterprise["manager"] = json::object{{"value", u.manager_id}};
    }
    if (!enterprise.empty()) {
        out[kEnterpriseSchema] = std::move(enterprise);
    }
    return out;
}

FakeDirectory::Reply FakeScimSource::route(const Incoming& in) {
    const auto scim_error = [](int status, std::string_view detail) {
        Reply r = json_reply(
            status,
            json::object{{"schemas", json::array{"urn:ietf:params:scim:api:messages:2.0:Error"}},
                         {"status", std::to_string(status)},
                         {"detail", detail}});
        r.content_type = "application/scim+json";
        return r;
    };
    if (auto fault = injected_fault()) {
        return *fault;
    }
    if (!authorized(in)) {
        ++unauthorized_;
        return scim_error(401, "Authorization failure");
    }
    const bool users = in.path == "/scim/v2/Users";
    if (in.method != "GET" || (!users && in.path != "/scim/v2/Groups")) {
        return scim_error(404, "Not found");
    }
    std::vector<json::object> all;
    if (users) {
        for (const auto& [id, u] : users_) {
            all.push_back(render_user(u.user));
        }
    } else {
        for (const auto& [id, g] : groups_) {
            json::array members;
            for (const std::string& m : g.group.member_user_ids) {
                members.push_back(json::object{
                    {"value", m}, {"type", "User"}, {"$ref", base_url() + "/Users/" + m}});
            }
            for (const std::string& m : g.group.member_group_ids) {
                members.push_back(json::object{
                    {"value", m}, {"type", "Group"}, {"$ref", base_url() + "/Groups/" + m}});
            }
            all.push_back(json::object{{"schemas", json::array{kGroupSchema}},
                                       {"id", id},
                                       {"displayName", g.group.name},
                                       {"members", std::move(members)},
                                       {"meta",
                                        json::object{{"resourceType", "Group"},
                                                     {"location", base_url() + "/Groups/" + id}}}});
        }
    }
    const std::size_t start = std::max<std::size_t>(parse_count(in.query, "startIndex", 1), 1);
    const std::size_t count =
        std::min(parse_count(in.query, "count", options_.page_size), options_.page_size);
    json::array resources;
    for (std::size_t i = start - 1; i < all.size() && resources.size() < count; ++i) {
        resources.push_back(all[i]);
    }
    const std::size_t listed = resources.size();
    Reply r = json_reply(200,
                         json::object{{"schemas", json::array{kListSchema}},
                                      {"totalResults", all.size()},
                                      {"startIndex", start},
                                      {"itemsPerPage", listed},
                                      {"Resources", std::move(resources)}});
    r.content_type = "application/scim+json";
    return r;
}

}  // namespace scimbridge::tests
