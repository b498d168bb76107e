#include "server/yaml_json.hpp"

#include <boost/json/parse.hpp>
#include <yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <new>
#include <optional>
#include <utility>
#include <vector>

namespace scimbridge::server {

namespace json = boost::json;

namespace {

using Converted = boost::system::result<json::value, std::string>;

Converted failure(std::string message) {
    return {boost::system::in_place_error, std::move(message)};
}

std::string where(const yaml_mark_t& mark) {
    return "line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1);
}

Converted failure_at(const yaml_mark_t& mark, const std::string& what) {
    return failure(where(mark) + ": " + what);
}

// A reader error (malformed UTF-8, a control character) comes with a byte offset only.
yaml_mark_t mark_at_offset(std::string_view text, std::size_t offset) {
    yaml_mark_t mark{};
    offset = std::min(offset, text.size());
    for (std::size_t i = 0; i < offset; ++i) {
        if (text[i] == '\n') {
            ++mark.line;
            mark.column = 0;
        } else {
            ++mark.column;
        }
    }
    mark.index = offset;
    return mark;
}

std::string parser_error(const yaml_parser_t& parser, std::string_view text) {
    const std::string problem = parser.problem != nullptr ? parser.problem : "not valid YAML";
    switch (parser.error) {
        case YAML_MEMORY_ERROR:
            return "out of memory while parsing YAML";
        case YAML_READER_ERROR:
            return where(mark_at_offset(text, parser.problem_offset)) + ": " + problem;
        default:
            break;
    }
    std::string message = where(parser.problem_mark) + ": " + problem;
    if (parser.context != nullptr) {
        message += " (" + std::string(parser.context) + " at " + where(parser.context_mark) + ")";
    }
    return message;
}

class Parser {
public:
    explicit Parser(std::string_view text) : text_(text) {
        if (yaml_parser_initialize(&parser_) == 0) {
            throw std::bad_alloc();
        }
        yaml_parser_set_input_string(
            &parser_, reinterpret_cast<const unsigned char*>(text.data()), text.size());
    }
    ~Parser() { yaml_parser_delete(&parser_); }
    Parser(const Parser&) = delete;
    Parser& operator=(const Parser&) = delete;

    // The next event, or the parser's error.
    bool next(yaml_event_t& event) { return yaml_parser_parse(&parser_, &event) != 0; }
    std::string error() const { return parser_error(parser_, text_); }

private:
    yaml_parser_t parser_{};
    std::string_view text_;
};

struct Event {
    yaml_event_t event{};
    Event() = default;
    ~Event() { yaml_event_delete(&event); }
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;
};

constexpr std::string_view kTagPrefix = "tag:yaml.org,2002:";

enum class Tag { kNone, kNonSpecific, kStr, kInt, kFloat, kBool, kNull, kMap, kSeq, kOther };

Tag tag_of(const yaml_char_t* tag) {
    if (tag == nullptr) {
        return Tag::kNone;
    }
    const std::string_view t(reinterpret_cast<const char*>(tag));
    if (t == "!") {
        return Tag::kNonSpecific;
    }
    if (t.substr(0, kTagPrefix.size()) != kTagPrefix) {
        return Tag::kOther;
    }
    static constexpr std::pair<std::string_view, Tag> kStandard[] = {
        {"str", Tag::kStr},
        {"int", Tag::kInt},
        {"float", Tag::kFloat},
        {"bool", Tag::kBool},
        {"null", Tag::kNull},
        {"map", Tag::kMap},
        {"seq", Tag::kSeq},
    };
    const std::string_view name = t.substr(kTagPrefix.size());
    for (const auto& [standard, kind] : kStandard) {
        if (name == standard) {
            return kind;
        }
    }
    return Tag::kOther;
}

std::string unsupported_tag(const yaml_char_t* tag) {
    return "the tag " + std::string(reinterpret_cast<const char*>(tag)) +
           " is not supported (only !!str, !!int, !!float, !!bool, !!null, !!map, !!seq)";
}

bool all_of_digits(std::string_view s, int base) {
    return std::all_of(s.begin(), s.end(), [base](char c) {
        if (c >= '0' && c <= '9') {
            return c - '0' < base;
        }
        return base == 16 && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
    });
}

std::size_t count_digits(std::string_view s, std::size_t from) {
    std::size_t n = 0;
    while (from + n < s.size() && s[from + n] >= '0' && s[from + n] <= '9') {
        ++n;
    }
    return n;
}

enum class NumberForm { kNone, kDecimal, kOctal, kHex, kFloat, kInfinity, kNan };

// The YAML 1.2 core schema's number forms:
//   int   [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+
//   float [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
//         | [-+]?\.(inf|Inf|INF) | \.(nan|NaN|NAN)
NumberForm number_form(std::string_view s) {
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
        const bool octal = s[1] == 'o';
        return all_of_digits(s.substr(2), octal ? 8 : 16)
                   ? (octal ? NumberForm::kOctal : NumberForm::kHex)
                   : NumberForm::kNone;
    }
    if (s == ".nan" || s == ".NaN" || s == ".NAN") {
        return NumberForm::kNan;
    }
    std::string_view body = s;
    if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
        body.remove_prefix(1);
    }
    if (body == ".inf" || body == ".Inf" || body == ".INF") {
        return NumberForm::kInfinity;
    }
    const std::size_t whole = count_digits(body, 0);
    std::size_t i = whole;
    bool is_float = false;
    std::size_t fraction = 0;
    if (i < body.size() && body[i] == '.') {
        is_float = true;
        fraction = count_digits(body, i + 1);
        i += 1 + fraction;
    }
    if (whole == 0 && fraction == 0) {
        return NumberForm::kNone;
    }
    if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
        is_float = true;
        ++i;
        if (i < body.size() && (body[i] == '+' || body[i] == '-')) {
            ++i;
        }
        const std::size_t exponent = count_digits(body, i);
        if (exponent == 0) {
            return NumberForm::kNone;
        }
        i += exponent;
    }
    if (i != body.size()) {
        return NumberForm::kNone;
    }
    return is_float ? NumberForm::kFloat : NumberForm::kDecimal;
}

// An unsigned integer in int64 when it fits (as boost::json stores it), else in uint64.
json::value unsigned_number(std::uint64_t n) {
    if (n <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return static_cast<std::int64_t>(n);
    }
    return n;
}

std::optional<json::value> as_json_number(std::string_view s) {
    boost::system::error_code ec;
    json::value v = json::parse(s, ec);
    if (ec || !v.is_number()) {
        return std::nullopt;
    }
    return v;
}

// A number in one of the core schema's forms. Text that is also a JSON number is read by
// boost::json itself, so that 0.1 or 1e400 is the same value in a YAML file as in a JSON one.
Converted number(std::string_view s, NumberForm form) {
    if (form == NumberForm::kInfinity || form == NumberForm::kNan) {
        return failure("\"" + std::string(s) + "\" is not a number JSON can hold");
    }
    if (form == NumberForm::kOctal || form == NumberForm::kHex) {
        std::uint64_t n = 0;
        const std::string_view digits = s.substr(2);
        const auto [end, ec] = std::from_chars(
            digits.data(), digits.data() + digits.size(), n, form == NumberForm::kOctal ? 8 : 16);
        if (ec != std::errc() || end != digits.data() + digits.size()) {
            return failure("\"" + std::string(s) + "\" is too large an integer");
        }
        return unsigned_number(n);
    }
    // JSON has no leading +; the other forms it lacks (leading zeros, ".5", "5.") are read here.
    const std::string_view unplussed = s[0] == '+' ? s.substr(1) : s;
    if (auto v = as_json_number(unplussed)) {
        return std::move(*v);
    }
    const char* first = unplussed.data();
    const char* last = first + unplussed.size();
    if (form == NumberForm::kDecimal) {
        std::int64_t n = 0;
        if (const auto r = std::from_chars(first, last, n); r.ec == std::errc() && r.ptr == last) {
            return n;
        }
        std::uint64_t u = 0;
        if (const auto r = std::from_chars(first, last, u); r.ec == std::errc() && r.ptr == last) {
            return u;
        }
    }
    double d = 0;
    if (const auto r = std::from_chars(first, last, d); r.ec == std::errc() && r.ptr == last) {
        return d;
    }
    return failure("\"" + std::string(s) + "\" is out of range");
}

bool is_null(std::string_view s) {
    return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

std::optional<bool> as_bool(std::string_view s) {
    if (s == "true" || s == "True" || s == "TRUE") {
        return true;
    }
    if (s == "false" || s == "False" || s == "FALSE") {
        return false;
    }
    return std::nullopt;
}

// A plain scalar under the core schema.
Converted plain(std::string_view s) {
    if (is_null(s)) {
        return json::value(nullptr);
    }
    if (const auto b = as_bool(s)) {
        return json::value(*b);
    }
    if (const NumberForm form = number_form(s); form != NumberForm::kNone) {
        return number(s, form);
    }
    return json::value(json::string(s));
}

// A scalar node's value; an error does not name the place yet.
Converted scalar(const yaml_event_t& event) {
    const auto& s = event.data.scalar;
    const std::string_view text(reinterpret_cast<const char*>(s.value), s.length);
    const Tag tag = tag_of(s.tag);
    const auto wrong = [&](const char* what) {
        return failure("\"" + std::string(text) + "\" is not " + what);
    };
    switch (tag) {
        case Tag::kNone:
            return s.style == YAML_PLAIN_SCALAR_STYLE ? plain(text)
                                                      : json::value(json::string(text));
        case Tag::kNonSpecific:
        case Tag::kStr:
            return json::value(json::string(text));
        case Tag::kNull:
            return is_null(text) ? Converted(json::value(nullptr)) : wrong("a null");
        case Tag::kBool: {
            const auto b = as_bool(text);
            return b ? Converted(json::value(*b)) : wrong("a boolean");
        }
        case Tag::kInt:
        case Tag::kFloat: {
            const NumberForm form = number_form(text);
            const bool fits = tag == Tag::kInt
                                  ? form == NumberForm::kDecimal || form == NumberForm::kOctal ||
                                        form == NumberForm::kHex
                                  : form != NumberForm::kNone;
            if (!fits) {
                return wrong(tag == Tag::kInt ? "an integer" : "a float");
            }
            auto n = number(text, form);
            if (n && tag == Tag::kFloat) {
                return json::value(n->to_number<double>());
            }
            return n;
        }
        case Tag::kMap:
        case Tag::kSeq:
            return failure("a scalar cannot be tagged !!map or !!seq");
        case Tag::kOther:
            break;
    }
    return failure(unsupported_tag(s.tag));
}

// A mapping or sequence being built, and for a mapping the key whose value comes next.
struct Open {
    json::value container;
    std::optional<std::string> key;
};

class Builder {
public:
    explicit Builder(std::size_t max_depth) : max_depth_(max_depth) {}

    // A mapping's next node is its key.
    bool expects_key() const {
        return !open_.empty() && open_.back().container.is_object() && !open_.back().key;
    }

    std::optional<std::string> take_key(std::string_view key) {
        json::object& object = open_.back().container.as_object();
        if (object.contains(key)) {
            return "duplicate key \"" + std::string(key) + "\"";
        }
        open_.back().key.emplace(key);
        return std::nullopt;
    }

    std::optional<std::string> open(json::value container) {
        if (open_.size() >= max_depth_) {
            return "nested deeper than " + std::to_string(max_depth_) + " levels";
        }
        open_.push_back({std::move(container), std::nullopt});
        return std::nullopt;
    }

    void close() {
        json::value done = std::move(open_.back().container);
        open_.pop_back();
        add(std::move(done));
    }

    void add(json::value v) {
        if (open_.empty()) {
            root_ = std::move(v);
        } else if (open_.back().container.is_array()) {
            open_.back().container.as_array().push_back(std::move(v));
        } else {
            Open& top = open_.back();
            top.container.as_object().emplace(*top.key, std::move(v));
            top.key.reset();
        }
    }

    json::value take_root() { return std::move(root_); }

private:
    std::size_t max_depth_;
    std::vector<Open> open_;
    json::value root_;  // null until a document's root node ends
};

// Anchors are refused rather than expanded: ten aliases nine deep are a billion nodes.
std::string anchors_refused(const char* marker, const yaml_char_t* name) {
    return std::string("anchors and aliases (") + marker + reinterpret_cast<const char*>(name) +
           ") are not supported";
}

// What a container's properties rule out.
std::optional<std::string> refused_properties(const yaml_char_t* anchor,
                                              const yaml_char_t* tag,
                                              Tag wanted) {
    if (anchor != nullptr) {
        return anchors_refused("&", anchor);
    }
    const Tag t = tag_of(tag);
    if (t == Tag::kNone || t == Tag::kNonSpecific || t == wanted) {
        return std::nullopt;
    }
    if (t == Tag::kOther) {
        return unsupported_tag(tag);
    }
    return std::string(wanted == Tag::kMap ? "a mapping" : "a sequence") + " cannot be tagged " +
           std::string(reinterpret_cast<const char*>(tag));
}

}  // namespace

Converted yaml_to_json(std::string_view text, std::size_t max_depth) {
    Parser parser(text);
    Builder builder(max_depth);
    int documents = 0;
    for (;;) {
        Event e;
        if (!parser.next(e.event)) {
            return failure(parser.error());
        }
        const yaml_event_t& event = e.event;
        const yaml_mark_t& mark = event.start_mark;
        switch (event.type) {
            case YAML_STREAM_END_EVENT:
                return builder.take_root();
            case YAML_DOCUMENT_START_EVENT:
                if (++documents > 1) {
                    return failure_at(mark, "a second YAML document (the file must hold one)");
                }
                break;
            case YAML_ALIAS_EVENT:
                return failure_at(mark, anchors_refused("*", event.data.alias.anchor));
            case YAML_SCALAR_EVENT: {
                const auto& s = event.data.scalar;
                if (s.anchor != nullptr) {
                    return failure_at(mark, anchors_refused("&", s.anchor));
                }
                if (builder.expects_key()) {
                    // A key is its text, as a JSON object key would be, whatever it looks like.
                    if (tag_of(s.tag) == Tag::kOther) {
                        return failure_at(mark, unsupported_tag(s.tag));
                    }
                    const std::string_view key(reinterpret_cast<const char*>(s.value), s.length);
                    if (auto refused = builder.take_key(key)) {
                        return failure_at(mark, *refused);
                    }
                    break;
                }
                auto value = scalar(event);
                if (!value) {
                    return failure_at(mark, value.error());
                }
                builder.add(std::move(*value));
                break;
            }
            case YAML_SEQUENCE_START_EVENT:
            case YAML_MAPPING_START_EVENT: {
                const bool mapping = event.type == YAML_MAPPING_START_EVENT;
                if (builder.expects_key()) {
                    return failure_at(mark, "a mapping key must be a scalar");
                }
                const auto refused = mapping ? refused_properties(event.data.mapping_start.anchor,
                                                                  event.data.mapping_start.tag,
                                                                  Tag::kMap)
                                             : refused_properties(event.data.sequence_start.anchor,
                                                                  event.data.sequence_start.tag,
                                                                  Tag::kSeq);
                if (refused) {
                    return failure_at(mark, *refused);
                }
                if (auto too_deep = builder.open(mapping ? json::value(json::object())
                                                         : json::value(json::array()))) {
                    return failure_at(mark, *too_deep);
                }
                break;
            }
            case YAML_SEQUENCE_END_EVENT:
            case YAML_MAPPING_END_EVENT:
                builder.close();
                break;
            default:  // stream start, document end
                break;
        }
    }
}

}  // namespace scimbridge::server
