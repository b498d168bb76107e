#include "scim/filter.hpp"

#include "scim/text.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cctype>
#include <optional>

namespace scimbridge::scim {

namespace json = boost::json;

std::string AttrPath::to_string() const {
    std::string out;
    if (!urn.empty()) {
        out.append(urn).push_back(':');
    }
    out.append(attr);
    if (!sub.empty()) {
        out.append(".").append(sub);
    }
    return out;
}

std::string_view to_string(CompareOp op) {
    switch (op) {
        case CompareOp::kEq: return "eq";
        case CompareOp::kNe: return "ne";
        case CompareOp::kCo: return "co";
        case CompareOp::kSw: return "sw";
        case CompareOp::kEw: return "ew";
        case CompareOp::kGt: return "gt";
        case CompareOp::kGe: return "ge";
        case CompareOp::kLt: return "lt";
        case CompareOp::kLe: return "le";
    }
    return "eq";
}

namespace {

bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool is_name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '$';
}
bool valid_name(std::string_view n) {
    if (n.empty() || (!is_name_start(n.front()) && n.front() != '$')) {
        return false;
    }
    for (const char c : n) {
        if (!is_name_char(c)) {
            return false;
        }
    }
    return true;
}

class Parser {
public:
    Parser(std::string_view text, const FilterLimits& limits) : text_(text), limits_(limits) {}

    Result<FilterPtr> parse() {
        auto f = parse_or(0, false);
        if (!f) {
            return f;
        }
        skip_spaces();
        if (pos_ != text_.size()) {
            return fail("unexpected '" + std::string(1, text_[pos_]) + "'");
        }
        return f;
    }

    // PATH = attrPath / valuePath [subAttr] (RFC 7644 §3.5.2).
    Result<PatchPath> parse_path() {
        PatchPath out;
        out.text = std::string(text_);
        std::size_t end = text_.find('[');
        const bool filtered = end != std::string_view::npos;
        if (!filtered) {
            end = text_.size();
        }
        auto attr = parse_attr_path(text_.substr(0, end));
        if (!attr) {
            return Error::invalid_path("'" + out.text + "' is not a valid path at position 1");
        }
        out.attr = std::move(*attr);
        if (!filtered) {
            return out;
        }
        if (!out.attr.sub.empty()) {
            return path_error("a value filter applies to an attribute, not a sub-attribute", end);
        }
        pos_ = end;
        auto inner = parse_enclosed(0, true, ']');
        if (!inner) {
            return Error::invalid_path("invalid value filter in path '" + out.text + "': " +
                                       inner.error().detail);
        }
        out.filter = std::move(*inner);
        if (pos_ < text_.size()) {
            if (text_[pos_] != '.' || !valid_name(text_.substr(pos_ + 1))) {
                return path_error("expected '.' and a sub-attribute after ']'", pos_);
            }
            out.filter_sub = std::string(text_.substr(pos_ + 1));
        }
        return out;
    }

private:
    Error path_error(const std::string& what, std::size_t at) const {
        return Error::invalid_path("'" + std::string(text_) + "': " + what + " at position " +
                                   std::to_string(at + 1));
    }

    Error fail(const std::string& what) const {
        return Error::invalid_filter(what + " at position " + std::to_string(pos_ + 1));
    }

    void skip_spaces() {
        while (pos_ < text_.size() && text_[pos_] == ' ') {
            ++pos_;
        }
    }

    // A keyword (and, or, not, pr, operators) followed by a space, '(' or the end.
    bool keyword(std::string_view word) {
        skip_spaces();
        if (text_.size() - pos_ < word.size()) {
            return false;
        }
        for (std::size_t i = 0; i < word.size(); ++i) {
            if (std::tolower(static_cast<unsigned char>(text_[pos_ + i])) != word[i]) {
                return false;
            }
        }
        const std::size_t end = pos_ + word.size();
        if (end < text_.size() && text_[end] != ' ' && text_[end] != '(' && text_[end] != ')' &&
            text_[end] != ']') {
            return false;
        }
        pos_ = end;
        return true;
    }

    // or binds looser than and (RFC 7644 §3.4.2.2): a chain of `word`-joined operands, each
    // parsed by `operand`, folded to the left.
    Result<FilterPtr> parse_chain(std::size_t depth, bool in_brackets, std::string_view word,
                                  Filter::Kind kind,
                                  Result<FilterPtr> (Parser::*operand)(std::size_t, bool)) {
        auto left = (this->*operand)(depth, in_brackets);
        if (!left) {
            return left;
        }
        while (keyword(word)) {
            auto right = (this->*operand)(depth, in_brackets);
            if (!right) {
                return right;
            }
            auto node = std::make_unique<Filter>();
            node->kind = kind;
            node->left = std::move(*left);
            node->right = std::move(*right);
            left = std::move(node);
        }
        return left;
    }

    Result<FilterPtr> parse_or(std::size_t depth, bool in_brackets) {
        return parse_chain(depth, in_brackets, "or", Filter::Kind::kOr, &Parser::parse_and);
    }

    Result<FilterPtr> parse_and(std::size_t depth, bool in_brackets) {
        return parse_chain(depth, in_brackets, "and", Filter::Kind::kAnd, &Parser::parse_unary);
    }

    // After an opening '(' or '[': a filter, then `close`.
    Result<FilterPtr> parse_enclosed(std::size_t depth, bool in_brackets, char close) {
        ++pos_;
        auto inner = parse_or(depth + 1, in_brackets);
        if (!inner) {
            return inner;
        }
        skip_spaces();
        if (pos_ >= text_.size() || text_[pos_] != close) {
            return fail(std::string("expected '") + close + "'");
        }
        ++pos_;
        return inner;
    }

    Result<FilterPtr> parse_unary(std::size_t depth, bool in_brackets) {
        if (depth > limits_.max_depth) {
            return fail("filter nested deeper than " + std::to_string(limits_.max_depth));
        }
        skip_spaces();
        const std::size_t save = pos_;
        if (keyword("not")) {
            skip_spaces();
            if (pos_ >= text_.size() || text_[pos_] != '(') {
                pos_ = save;  // an attribute called "not..."
            } else {
                auto inner = parse_enclosed(depth, in_brackets, ')');
                if (!inner) {
                    return inner;
                }
                auto node = std::make_unique<Filter>();
                node->kind = Filter::Kind::kNot;
                node->left = std::move(*inner);
                return node;
            }
        }
        if (pos_ < text_.size() && text_[pos_] == '(') {
            return parse_enclosed(depth, in_brackets, ')');
        }
        return parse_attr_expression(depth, in_brackets);
    }

    Result<FilterPtr> parse_attr_expression(std::size_t depth, bool in_brackets) {
        skip_spaces();
        const std::size_t start = pos_;
        while (pos_ < text_.size() && text_[pos_] != ' ' && text_[pos_] != '[' &&
               text_[pos_] != '(' && text_[pos_] != ')' && text_[pos_] != ']') {
            ++pos_;
        }
        if (pos_ == start) {
            return fail("expected an attribute name");
        }
        auto path = parse_attr_path(text_.substr(start, pos_ - start));
        if (!path) {
            const std::size_t here = pos_;
            pos_ = start;
            auto err = fail("invalid attribute path '" + std::string(text_.substr(start, here - start)) + "'");
            return err;
        }
        if (pos_ < text_.size() && text_[pos_] == '[') {
            if (in_brackets) {
                return fail("value filters cannot nest");
            }
            if (!path->sub.empty()) {
                return fail("a value filter applies to an attribute, not a sub-attribute");
            }
            auto inner = parse_enclosed(depth, true, ']');
            if (!inner) {
                return inner;
            }
            auto node = std::make_unique<Filter>();
            node->kind = Filter::Kind::kValuePath;
            node->path = std::move(*path);
            node->left = std::move(*inner);
            return node;
        }
        if (keyword("pr")) {
            auto node = std::make_unique<Filter>();
            node->kind = Filter::Kind::kPresent;
            node->path = std::move(*path);
            return node;
        }
        static constexpr std::pair<std::string_view, CompareOp> kOps[] = {
            {"eq", CompareOp::kEq}, {"ne", CompareOp::kNe}, {"co", CompareOp::kCo},
            {"sw", CompareOp::kSw}, {"ew", CompareOp::kEw}, {"gt", CompareOp::kGt},
            {"ge", CompareOp::kGe}, {"lt", CompareOp::kLt}, {"le", CompareOp::kLe}};
        std::optional<CompareOp> op;
        for (const auto& [word, value] : kOps) {
            if (keyword(word)) {
                op = value;
                break;
            }
        }
        if (!op) {
            skip_spaces();
            return fail("expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)");
        }
        auto value = parse_value(*op);
        if (!value) {
            return value.error();
        }
        auto node = std::make_unique<Filter>();
        node->kind = Filter::Kind::kCompare;
        node->path = std::move(*path);
        node->op = *op;
        node->value = std::move(*value);
        return node;
    }

    Result<json::value> parse_value(CompareOp op) {
        skip_spaces();
        if (pos_ >= text_.size()) {
            return fail("expected a value");
        }
        if (text_[pos_] == '"') {
            // A JSON string (RFC 7644: compValue string is a JSON string, escapes included).
            const std::size_t start = pos_;
            ++pos_;
            while (pos_ < text_.size() && text_[pos_] != '"') {
                if (text_[pos_] == '\\') {
                    ++pos_;
                }
                ++pos_;
            }
            if (pos_ >= text_.size()) {
                pos_ = start;
                return fail("unterminated string");
            }
            ++pos_;
            boost::system::error_code ec;
            json::value v = json::parse(text_.substr(start, pos_ - start), ec);
            if (ec || !v.is_string() || !is_storable_text(v.as_string())) {
                pos_ = start;
                return fail("invalid string literal");
            }
            return v;
        }
        const std::size_t start = pos_;
        while (pos_ < text_.size() && text_[pos_] != ' ' && text_[pos_] != ')' &&
               text_[pos_] != ']') {
            ++pos_;
        }
        const std::string_view word = text_.substr(start, pos_ - start);
        if (word == "true" || word == "false" || word == "null") {
            return json::parse(word);
        }
        boost::system::error_code ec;
        json::value number = json::parse(word, ec);
        if (!ec && number.is_number()) {
            return number;
        }
        // Entra sends `externalId eq jyoung`: an unquoted word is a string where unambiguous.
        if (op == CompareOp::kEq && !word.empty() && word.find('"') == std::string_view::npos &&
            is_storable_text(word)) {
            return json::value(json::string(word));
        }
        pos_ = start;
        return fail("expected a value: a quoted string, number, true, false or null");
    }

    std::string_view text_;
    FilterLimits limits_;
    std::size_t pos_ = 0;
};

void print(const Filter& f, std::string& out) {
    switch (f.kind) {
        case Filter::Kind::kCompare:
            out.append("(").append(f.path.to_string()).append(" ").append(to_string(f.op));
            out.append(" ").append(json::serialize(f.value)).append(")");
            return;
        case Filter::Kind::kPresent:
            out.append("(").append(f.path.to_string()).append(" pr)");
            return;
        case Filter::Kind::kAnd:
        case Filter::Kind::kOr:
            out.append("(");
            print(*f.left, out);
            out.append(f.kind == Filter::Kind::kAnd ? " and " : " or ");
            print(*f.right, out);
            out.append(")");
            return;
        case Filter::Kind::kNot:
            out.append("(not ");
            print(*f.left, out);
            out.append(")");
            return;
        case Filter::Kind::kValuePath:
            out.append(f.path.to_string()).append("[");
            print(*f.left, out);
            out.append("]");
            return;
    }
}

}  // namespace

Result<AttrPath> parse_attr_path(std::string_view text) {
    AttrPath path;
    std::string_view rest = text;
    if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
        path.urn = std::string(text.substr(0, colon));
        rest = text.substr(colon + 1);
        if (path.urn.size() < 5 || !(path.urn.substr(0, 4) == "urn:" || path.urn.substr(0, 4) == "URN:")) {
            return Error::invalid_path("'" + std::string(text) + "' is not an attribute path");
        }
    }
    if (const auto dot = rest.find('.'); dot != std::string_view::npos) {
        path.attr = std::string(rest.substr(0, dot));
        path.sub = std::string(rest.substr(dot + 1));
        if (!valid_name(path.sub)) {
            return Error::invalid_path("'" + std::string(text) + "' is not an attribute path");
        }
    } else {
        path.attr = std::string(rest);
    }
    if (!valid_name(path.attr)) {
        return Error::invalid_path("'" + std::string(text) + "' is not an attribute path");
    }
    return path;
}

Result<FilterPtr> parse_filter(std::string_view text, const FilterLimits& limits) {
    if (text.size() > limits.max_length) {
        return Error::invalid_filter("filter longer than " + std::to_string(limits.max_length) +
                                     " characters at position " +
                                     std::to_string(limits.max_length + 1));
    }
    if (text.find_first_not_of(' ') == std::string_view::npos) {
        return Error::invalid_filter("empty filter at position 1");
    }
    return Parser(text, limits).parse();
}

Result<PatchPath> parse_patch_path(std::string_view text, const FilterLimits& limits) {
    if (text.size() > limits.max_length) {
        return Error::invalid_path("path longer than " + std::to_string(limits.max_length) +
                                   " characters");
    }
    if (text.empty()) {
        return Error::invalid_path("empty path");
    }
    return Parser(text, limits).parse_path();
}

std::string to_string(const Filter& filter) {
    std::string out;
    print(filter, out);
    return out;
}

}  // namespace scimbridge::scim
