// The outbound SCIM app of the benchmarks: the reliability plan's "healthy stub" (L2, L7), a
// real HTTP/1.1 SCIM 2.0 service provider on 127.0.0.1 and a port the OS picks, holding Users and
// Groups in memory. One event loop serves every connection (coroutines), so the stub spends
// little of the cores the bridge is measured on; a second tenant of the bridge as the target
// would make every delivery a second create in the same process and database.
//   scim_sink --url-file FILE --token T [--seed FILE]
// writes "http://127.0.0.1:PORT/scim/v2" to FILE once it listens and serves until SIGTERM or
// SIGINT, then prints one JSON line of counters (requests by method, created, replaced, patched,
// deleted, conflicts, pages, bad requests) and the users and groups it holds.
//
// What it implements, as the bridge's SCIM connector and read-back use it (RFC 7644):
//   POST /Users, /Groups            201 with the resource and a new id; 409 uniqueness when the
//                                   userName (case-insensitive) / displayName or externalId is held
//   GET, PUT, PATCH, DELETE /{id}   404 when unknown; PATCH add / replace / remove with a simple
//                                   attribute path, no path (merge), or members[value eq "x"]
//   GET /Users?filter=A eq "v"      A: userName, externalId, displayName (else 400 invalidFilter)
//   GET /Users?count=N&cursor=C     RFC 9865 cursor paging in id order (C empty: the first page)
//   GET /Users?count=N&startIndex=I index paging
// Every request needs "Authorization: Bearer T" (401 otherwise). --seed FILE holds resources to
// start with, one per line: "User" or "Group", a tab, the resource as JSON with its "id".
#include "scim/schema.hpp"
#include "scim/text.hpp"
#include "server/query.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;

namespace {

constexpr std::string_view kBase = "/scim/v2";
constexpr std::string_view kError = "urn:ietf:params:scim:api:messages:2.0:Error";
constexpr std::string_view kList = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
constexpr std::size_t kMaxCount = 1000;
constexpr std::size_t kMaxBody = 4U << 20U;

using scimbridge::scim::ascii_lower;
using scimbridge::scim::find_ci;

std::optional<std::string> string_member(const json::object& o, std::string_view name) {
    const json::value* v = find_ci(o, name);
    if (v != nullptr && v->is_string()) {
        return std::string(v->get_string());
    }
    return std::nullopt;
}

void erase_ci(json::object& o, std::string_view name) {
    for (auto it = o.begin(); it != o.end(); ++it) {
        if (ascii_lower(it->key()) == ascii_lower(name)) {
            o.erase(it);
            return;
        }
    }
}

struct Reply {
    http::status status = http::status::ok;
    std::string body;  // "" = no body
};

Reply error(http::status status, std::string_view scim_type, std::string_view detail) {
    json::object e{{"schemas", json::array{json::string(kError)}},
                   {"status", std::to_string(static_cast<unsigned>(status))},
                   {"detail", detail}};
    if (!scim_type.empty()) {
        e["scimType"] = scim_type;
    }
    return {status, json::serialize(e)};
}

// One resource type's holdings: by id (ordered, for cursors), and the unique keys.
struct Collection {
    std::string_view name_attribute;  // userName or displayName
    std::map<std::string, json::object> by_id;
    std::unordered_map<std::string, std::string> by_name;      // lower-cased name → id
    std::unordered_map<std::string, std::string> by_external;  // externalId → id

    std::optional<std::string> key_name(const json::object& r) const {
        auto name = string_member(r, name_attribute);
        return name ? std::optional<std::string>(ascii_lower(*name)) : std::nullopt;
    }
    // The id already holding r's name or externalId, other than `self`.
    std::optional<std::string> conflict(const json::object& r, const std::string& self) const {
        if (auto name = key_name(r)) {
            if (auto it = by_name.find(*name); it != by_name.end() && it->second != self) {
                return it->second;
            }
        }
        if (auto ext = string_member(r, "externalId")) {
            if (auto it = by_external.find(*ext); it != by_external.end() && it->second != self) {
                return it->second;
            }
        }
        return std::nullopt;
    }
    void unindex(const json::object& r) {
        if (auto name = key_name(r)) by_name.erase(*name);
        if (auto ext = string_member(r, "externalId")) by_external.erase(*ext);
    }
    void put(const std::string& id, json::object r) {
        if (auto old = by_id.find(id); old != by_id.end()) {
            unindex(old->second);
        }
        if (auto name = key_name(r)) by_name[*name] = id;
        if (auto ext = string_member(r, "externalId")) by_external[*ext] = id;
        by_id[id] = std::move(r);
    }
    void remove(const std::string& id) {
        if (auto it = by_id.find(id); it != by_id.end()) {
            unindex(it->second);
            by_id.erase(it);
        }
    }
};

struct Counters {
    std::map<std::string, long> by_method;
    long created = 0, replaced = 0, patched = 0, deleted = 0, conflicts = 0, pages = 0,
         lookups = 0, bad_requests = 0, unauthorized = 0;
};

class Sink {
public:
    explicit Sink(std::string token) : bearer_("Bearer " + std::move(token)) {
        users_.name_attribute = "userName";
        groups_.name_attribute = "displayName";
    }

    bool load_seed(const std::string& path) {
        std::ifstream in(path);
        if (!in) {
            std::cerr << "scim_sink: cannot read " << path << "\n";
            return false;
        }
        std::string line;
        for (std::size_t number = 1; std::getline(in, line); ++number) {
            if (line.empty()) continue;
            const auto tab = line.find('\t');
            boost::system::error_code ec;
            json::value v = tab == std::string::npos ? json::value() : json::parse(line.substr(tab + 1), ec);
            Collection* c = tab == std::string::npos ? nullptr : collection(line.substr(0, tab));
            if (c == nullptr || ec || !v.is_object() || !string_member(v.get_object(), "id")) {
                std::cerr << "scim_sink: " << path << ":" << number << ": not TYPE<TAB>{...\"id\"...}\n";
                return false;
            }
            const std::string id = *string_member(v.get_object(), "id");
            c->put(id, std::move(v.get_object()));
        }
        return true;
    }

    Reply handle(const http::request<http::string_body>& req) {
        ++counters_.by_method[std::string(req.method_string())];
        if (req[http::field::authorization] != bearer_) {
            ++counters_.unauthorized;
            return error(http::status::unauthorized, "", "bearer token required");
        }
        const std::string_view target = req.target();
        const auto qmark = target.find('?');
        std::string_view path = target.substr(0, qmark);
        const auto parsed = scimbridge::server::parse_query(qmark == std::string_view::npos ? "" : target.substr(qmark + 1));
        if (!parsed) {
            ++counters_.bad_requests;
            return error(http::status::bad_request, "invalidValue", "malformed query string");
        }
        std::map<std::string, std::string> params;  // parameter names are case-insensitive
        for (const auto& [key, value] : *parsed) params.emplace(ascii_lower(key), value);
        if (path.substr(0, kBase.size()) != kBase) {
            return error(http::status::not_found, "", "unknown path");
        }
        path.remove_prefix(kBase.size());
        if (!path.empty() && path.front() == '/') path.remove_prefix(1);
        const auto slash = path.find('/');
        const std::string endpoint(path.substr(0, slash));
        const std::string id = slash == std::string_view::npos ? "" : std::string(path.substr(slash + 1));
        Collection* c = collection(endpoint);
        if (c == nullptr) {
            return error(http::status::not_found, "", "unknown endpoint");
        }
        const std::string type = endpoint == "Users" ? "User" : "Group";
        Reply reply = dispatch(req, *c, type, id, params);
        if (reply.status == http::status::bad_request) ++counters_.bad_requests;
        return reply;
    }

    void print_stats(std::ostream& out) const {
        json::object methods;
        for (const auto& [m, n] : counters_.by_method) methods[m] = n;
        out << json::serialize(json::object{
                   {"requests", methods},       {"created", counters_.created},
                   {"replaced", counters_.replaced}, {"patched", counters_.patched},
                   {"deleted", counters_.deleted},   {"conflicts", counters_.conflicts},
                   {"pages", counters_.pages},       {"lookups", counters_.lookups},
                   {"bad_requests", counters_.bad_requests},
                   {"unauthorized", counters_.unauthorized},
                   {"users", users_.by_id.size()},   {"groups", groups_.by_id.size()}})
            << "\n";
    }

private:
    Collection* collection(std::string_view endpoint) {
        if (endpoint == "Users" || endpoint == "User") return &users_;
        if (endpoint == "Groups" || endpoint == "Group") return &groups_;
        return nullptr;
    }

    static std::optional<json::object> body_object(const http::request<http::string_body>& req) {
        boost::system::error_code ec;
        json::value v = json::parse(req.body(), ec);
        if (ec || !v.is_object()) return std::nullopt;
        return std::move(v.get_object());
    }

    // The resource a POST or PUT sends, without the id and meta it may carry; an error reply when
    // it is not an object or lacks the name attribute.
    static std::variant<json::object, Reply> sent_resource(const http::request<http::string_body>& req,
                                                           const Collection& c) {
        auto body = body_object(req);
        if (!body) return error(http::status::bad_request, "invalidSyntax", "the body is not a JSON object");
        if (!string_member(*body, c.name_attribute)) {
            return error(http::status::bad_request, "invalidValue", std::string(c.name_attribute) + " is required");
        }
        erase_ci(*body, "id");
        erase_ci(*body, "meta");
        return std::move(*body);
    }

    // Holds `r` under `id` unless another resource has its name or externalId (409).
    Reply save(Collection& c, const std::string& type, const std::string& id, json::object r,
               http::status status, long& counter) {
        r["id"] = id;
        if (c.conflict(r, id)) {
            ++counters_.conflicts;
            return error(http::status::conflict, "uniqueness", "already held by another resource");
        }
        Reply reply{status, json::serialize(rendered(r, type))};
        c.put(id, std::move(r));
        ++counter;
        return reply;
    }

    std::string new_id() {
        static constexpr char kHex[] = "0123456789abcdef";
        std::string id(32, '0');
        for (char& ch : id) ch = kHex[rng_() & 15U];
        return id;
    }

    static json::object rendered(const json::object& r, const std::string& type) {
        json::object out = r;
        out["meta"] = json::object{{"resourceType", type}};
        return out;
    }

    Reply dispatch(const http::request<http::string_body>& req, Collection& c, const std::string& type,
                   const std::string& id, const std::map<std::string, std::string>& params) {
        const http::verb method = req.method();
        if (id.empty() && method == http::verb::get) return list(c, type, params);
        if (id.empty() && method == http::verb::post) {
            auto sent = sent_resource(req, c);
            if (auto* failed = std::get_if<Reply>(&sent)) return std::move(*failed);
            return save(c, type, new_id(), std::move(std::get<json::object>(sent)), http::status::created,
                        counters_.created);
        }
        if (id.empty()) return error(http::status::method_not_allowed, "", "method not allowed here");
        auto it = c.by_id.find(id);
        if (it == c.by_id.end()) return error(http::status::not_found, "", "no such resource");
        switch (method) {
            case http::verb::get:
                return {http::status::ok, json::serialize(rendered(it->second, type))};
            case http::verb::delete_:
                c.remove(id);
                ++counters_.deleted;
                return {http::status::no_content, ""};
            case http::verb::put: {
                auto sent = sent_resource(req, c);
                if (auto* failed = std::get_if<Reply>(&sent)) return std::move(*failed);
                return save(c, type, id, std::move(std::get<json::object>(sent)), http::status::ok,
                            counters_.replaced);
            }
            case http::verb::patch: {
                auto body = body_object(req);
                const json::value* ops = body ? find_ci(*body, "Operations") : nullptr;
                if (ops == nullptr || !ops->is_array()) {
                    return error(http::status::bad_request, "invalidSyntax", "a PatchOp with Operations is required");
                }
                json::object next = it->second;
                for (const json::value& op : ops->get_array()) {
                    if (auto failed = apply(next, op)) return *failed;
                }
                return save(c, type, id, std::move(next), http::status::ok, counters_.patched);
            }
            default:
                return error(http::status::method_not_allowed, "", "method not allowed here");
        }
    }

    // One PATCH operation on `r`; an error reply when it cannot be applied.
    static std::optional<Reply> apply(json::object& r, const json::value& op_value) {
        if (!op_value.is_object()) return error(http::status::bad_request, "invalidSyntax", "an operation is not an object");
        const json::object& op = op_value.get_object();
        const std::string kind = ascii_lower(string_member(op, "op").value_or(""));
        const auto path = string_member(op, "path");
        const json::value* value = find_ci(op, "value");
        if (kind != "add" && kind != "replace" && kind != "remove") {
            return error(http::status::bad_request, "invalidSyntax", "op must be add, replace or remove");
        }
        if (!path) {
            if (kind == "remove" || value == nullptr || !value->is_object()) {
                return error(http::status::bad_request, "noTarget", "an operation without a path needs an object value");
            }
            for (const auto& kv : value->get_object()) {
                erase_ci(r, kv.key());
                r[kv.key()] = kv.value();
            }
            return std::nullopt;
        }
        // members[value eq "x"]: remove one member.
        const std::string_view p = *path;
        if (const auto bracket = p.find('['); bracket != std::string_view::npos) {
            const std::string_view prefix = "value eq ";
            std::string_view inner = p.substr(bracket + 1);
            if (ascii_lower(p.substr(0, bracket)) != "members" || kind != "remove" || inner.empty() ||
                inner.back() != ']' || inner.substr(0, prefix.size()) != prefix) {
                return error(http::status::bad_request, "invalidPath", "unsupported path");
            }
            inner = inner.substr(prefix.size(), inner.size() - prefix.size() - 1);
            boost::system::error_code ec;
            const json::value literal = json::parse(inner, ec);
            if (ec || !literal.is_string()) return error(http::status::bad_request, "invalidFilter", "bad value filter");
            if (json::value* members = r.if_contains("members"); members != nullptr && members->is_array()) {
                auto& a = members->get_array();
                for (auto m = a.begin(); m != a.end();) {
                    const auto v = m->is_object() ? string_member(m->get_object(), "value") : std::nullopt;
                    m = v && *v == literal.get_string() ? a.erase(m) : m + 1;
                }
            }
            return std::nullopt;
        }
        if (p.find('.') != std::string_view::npos) {
            return error(http::status::bad_request, "invalidPath", "sub-attribute paths are not supported");
        }
        if (kind == "remove") {
            erase_ci(r, p);
            return std::nullopt;
        }
        if (value == nullptr) return error(http::status::bad_request, "invalidValue", "a value is required");
        const json::value* current = find_ci(r, p);
        if (kind == "add" && current != nullptr && current->is_array() && value->is_array()) {
            json::array merged = current->get_array();
            for (const json::value& v : value->get_array()) {
                if (std::find(merged.begin(), merged.end(), v) == merged.end()) merged.push_back(v);
            }
            erase_ci(r, p);
            r[p] = std::move(merged);
            return std::nullopt;
        }
        erase_ci(r, p);
        r[p] = *value;
        return std::nullopt;
    }

    Reply list(Collection& c, const std::string& type, const std::map<std::string, std::string>& params) {
        std::size_t count = 100;
        std::size_t start = 1;
        try {
            if (auto it = params.find("count"); it != params.end()) count = std::stoul(it->second);
            if (auto it = params.find("startindex"); it != params.end()) start = std::max<std::size_t>(1, std::stoul(it->second));
        } catch (const std::logic_error&) {
            return error(http::status::bad_request, "invalidValue", "count and startIndex are numbers");
        }
        count = std::min(count, kMaxCount);
        json::array resources;
        json::object page{{"schemas", json::array{json::string(kList)}}};
        if (auto f = params.find("filter"); f != params.end()) {
            ++counters_.lookups;
            // attribute eq "value"
            const std::string& text = f->second;
            const auto sp = text.find(' ');
            const std::string attribute = ascii_lower(text.substr(0, sp));
            boost::system::error_code ec;
            const json::value literal = sp == std::string::npos || ascii_lower(text.substr(sp + 1, 3)) != "eq "
                                            ? json::value()
                                            : json::parse(text.substr(sp + 4), ec);
            if (ec || !literal.is_string() ||
                (attribute != "externalid" && attribute != ascii_lower(c.name_attribute))) {
                return error(http::status::bad_request, "invalidFilter", "only userName, displayName or externalId eq \"v\"");
            }
            const auto& index = attribute == "externalid" ? c.by_external : c.by_name;
            const std::string key = attribute == "externalid" ? std::string(literal.get_string())
                                                              : ascii_lower(literal.get_string());
            if (auto hit = index.find(key); hit != index.end()) {
                resources.push_back(rendered(c.by_id.at(hit->second), type));
            }
            page["totalResults"] = resources.size();
            page["itemsPerPage"] = resources.size();
            page["startIndex"] = 1;
            page["Resources"] = std::move(resources);
            return {http::status::ok, json::serialize(page)};
        }
        ++counters_.pages;
        auto it = c.by_id.begin();
        if (auto cursor = params.find("cursor"); cursor != params.end()) {
            if (!cursor->second.empty()) it = c.by_id.upper_bound(cursor->second);
        } else {
            for (std::size_t skip = 1; skip < start && it != c.by_id.end(); ++skip) ++it;
        }
        for (; it != c.by_id.end() && resources.size() < count; ++it) {
            resources.push_back(rendered(it->second, type));
        }
        if (params.count("cursor") != 0 && it != c.by_id.end() && !resources.empty()) {
            page["nextCursor"] = std::prev(it)->first;
        }
        page["totalResults"] = c.by_id.size();
        page["itemsPerPage"] = resources.size();
        if (params.count("cursor") == 0) page["startIndex"] = start;
        page["Resources"] = std::move(resources);
        return {http::status::ok, json::serialize(page)};
    }

    std::string bearer_;
    Collection users_;
    Collection groups_;
    Counters counters_;
    std::mt19937_64 rng_{std::random_device{}()};
};

constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);

net::awaitable<void> serve(net::ip::tcp::socket socket, Sink& sink) {
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(kMaxBody);
        auto [rec, rn] = co_await http::async_read(socket, buffer, parser, kUseTuple);
        if (rec) co_return;
        const auto& req = parser.get();
        const Reply reply = sink.handle(req);
        http::response<http::string_body> res{reply.status, req.version()};
        if (!reply.body.empty()) {
            res.set(http::field::content_type, "application/scim+json");
            res.body() = reply.body;
        }
        res.keep_alive(req.keep_alive());
        res.prepare_payload();
        auto [wec, wn] = co_await http::async_write(socket, res, kUseTuple);
        if (wec || !res.keep_alive()) co_return;
    }
}

net::awaitable<void> accept(net::ip::tcp::acceptor& acceptor, Sink& sink) {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(kUseTuple);
        if (ec) co_return;
        socket.set_option(net::ip::tcp::no_delay(true));
        net::co_spawn(acceptor.get_executor(), serve(std::move(socket), sink), net::detached);
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::string url_file;
    std::string token;
    std::string seed;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string key = argv[i];
        if (key == "--url-file") url_file = argv[i + 1];
        else if (key == "--token") token = argv[i + 1];
        else if (key == "--seed") seed = argv[i + 1];
        else {
            std::cerr << "scim_sink: unknown option " << key << "\n";
            return 2;
        }
    }
    if (url_file.empty() || token.empty()) {
        std::cerr << "usage: scim_sink --url-file FILE --token T [--seed FILE]\n";
        return 2;
    }
    Sink sink(token);
    if (!seed.empty() && !sink.load_seed(seed)) return 2;
    net::io_context ioc(1);
    net::ip::tcp::acceptor acceptor(ioc, {net::ip::make_address("127.0.0.1"), 0});
    {
        std::ofstream out(url_file + ".tmp");
        out << "http://127.0.0.1:" << acceptor.local_endpoint().port() << kBase << "\n";
    }
    std::rename((url_file + ".tmp").c_str(), url_file.c_str());
    net::signal_set signals(ioc, SIGTERM, SIGINT);
    signals.async_wait([&](const boost::system::error_code&, int) { ioc.stop(); });
    net::co_spawn(ioc, accept(acceptor, sink), net::detached);
    ioc.run();
    sink.print_stats(std::cout);
    return 0;
}
