#include "mappers/mail.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <utility>

#include "scim/text.hpp"

namespace scimbridge::mappers {

namespace {

// ---------------------------------------------------------------------------------------------
// Encodings

constexpr std::string_view kCrlf = "\r\n";
// RFC 2047 §2: a line holding an encoded-word is at most 76 characters; we fold every header
// there, which also keeps RFC 5322's recommended 78.
constexpr std::size_t kMaxHeaderLine = 76;
// Bytes per encoded-word: 36 bytes are 48 base64 characters, a 60-character word, which fits
// after "Subject: " and after a folding space.
constexpr std::size_t kEncodedWordBytes = 36;
// RFC 2045 §6.7 (5): encoded lines at most 76 characters, the soft break '=' included.
constexpr std::size_t kMaxQpLine = 76;
constexpr std::size_t kBase64Line = 76;
// No quoted-printable or base64 text can contain "=_" ('=' is always followed by two hex
// digits or a line break in QP; base64 has no '_'), so a constant boundary never collides.
constexpr std::string_view kBoundary = "=_scim-bridge-alternative";

constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kHex = "0123456789ABCDEF";

unsigned char byte_at(std::string_view s, std::size_t i) {
    return static_cast<unsigned char>(s[i]);
}

std::string base64(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
        std::uint32_t v = static_cast<std::uint32_t>(byte_at(bytes, i)) << 16U;
        if (n > 1) {
            v |= static_cast<std::uint32_t>(byte_at(bytes, i + 1)) << 8U;
        }
        if (n > 2) {
            v |= byte_at(bytes, i + 2);
        }
        out += kBase64Alphabet[v >> 18U & 63U];
        out += kBase64Alphabet[v >> 12U & 63U];
        out += n > 1 ? kBase64Alphabet[v >> 6U & 63U] : '=';
        out += n > 2 ? kBase64Alphabet[v & 63U] : '=';
    }
    return out;
}

// LF, CR and CRLF all become CRLF.
std::string to_crlf(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 32);
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\r') {
            out += kCrlf;
            if (i + 1 < text.size() && text[i + 1] == '\n') {
                ++i;
            }
        } else if (text[i] == '\n') {
            out += kCrlf;
        } else {
            out += text[i];
        }
    }
    return out;
}

// Splits CRLF-terminated text into lines (the last one may be empty).
std::vector<std::string_view> crlf_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    std::size_t pos = 0;
    for (;;) {
        const std::size_t end = text.find(kCrlf, pos);
        if (end == std::string_view::npos) {
            lines.push_back(text.substr(pos));
            return lines;
        }
        lines.push_back(text.substr(pos, end - pos));
        pos = end + kCrlf.size();
    }
}

// RFC 2045 §6.7 with CRLF line breaks kept as hard breaks. A '.' starting an encoded line is
// written =2E: a relay that forgets dot-stuffing cannot end the message early.
std::string quoted_printable(std::string_view crlf_text) {
    std::string out;
    bool first_line = true;
    for (const std::string_view line : crlf_lines(crlf_text)) {
        if (!first_line) {
            out += kCrlf;
        }
        first_line = false;
        std::size_t column = 0;
        for (std::size_t i = 0; i < line.size(); ++i) {
            const unsigned char c = byte_at(line, i);
            const bool last = i + 1 == line.size();
            const bool literal =
                (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last);
            std::size_t width = literal ? 1 : 3;
            if (column + width > kMaxQpLine - 1) {
                out += '=';
                out += kCrlf;
                column = 0;
            }
            if (literal && !(c == '.' && column == 0)) {
                out += static_cast<char>(c);
            } else {
                out += '=';
                out += kHex[c >> 4U];
                out += kHex[c & 15U];
                width = 3;
            }
            column += width;
        }
    }
    return out;
}

std::string base64_lines(std::string_view bytes) {
    const std::string encoded = base64(bytes);
    std::string out;
    for (std::size_t i = 0; i < encoded.size(); i += kBase64Line) {
        if (i > 0) {
            out += kCrlf;
        }
        out += encoded.substr(i, kBase64Line);
    }
    return out;
}

bool is_ascii(std::string_view s) {
    return std::all_of(
        s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 128; });
}

// CR, LF and the other controls out of a header value (a tab becomes a space): whatever a
// value holds, it stays inside its own header.
std::string header_safe(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (const char ch : value) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '\t') {
            out += ' ';
        } else if (c >= 32 && c != 127) {
            out += ch;
        }
    }
    return out;
}

// An address as it may appear in a header: printable ASCII without the characters that would
// end it or start another one. Real addresses pass unchanged (is_plausible_email).
std::string header_address(std::string_view address) {
    std::string out;
    for (const char ch : address) {
        const auto c = static_cast<unsigned char>(ch);
        if (c > 32 && c < 127 &&
            std::string_view("<>,;:\"\\()[]").find(ch) == std::string_view::npos) {
            out += ch;
        }
    }
    return out;
}

// UTF-8 text as RFC 2047 "B" encoded-words, each whole characters only (§5: a character is
// never split between words).
std::vector<std::string> encoded_words(std::string_view text) {
    std::vector<std::string> words;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t n = std::min(kEncodedWordBytes, text.size() - pos);
        while (n > 1 && pos + n < text.size() && (byte_at(text, pos + n) & 0xC0U) == 0x80U) {
            --n;  // do not cut before a continuation byte
        }
        words.push_back("=?utf-8?B?" + base64(text.substr(pos, n)) + "?=");
        pos += n;
    }
    return words;
}

std::vector<std::string> split_spaces(std::string_view text) {
    std::vector<std::string> words;
    std::size_t pos = 0;
    for (;;) {
        const std::size_t end = text.find(' ', pos);
        words.emplace_back(text.substr(pos, end == std::string_view::npos ? end : end - pos));
        if (end == std::string_view::npos) {
            return words;
        }
        pos = end + 1;
    }
}

// Unstructured text (a subject, a display name) as header tokens: the words themselves when it
// is plain ASCII, else encoded-words. Also encoded: text holding "=?" (a reader would try to
// decode it) and text with a word too long to fold.
std::vector<std::string> text_tokens(std::string_view text, bool quote_ascii) {
    const bool plain = is_ascii(text) && text.find("=?") == std::string_view::npos &&
                       std::ranges::all_of(split_spaces(text),
                                           [](const std::string& w) { return w.size() <= 60; });
    if (!plain) {
        return encoded_words(text);
    }
    if (!quote_ascii) {
        return split_spaces(text);
    }
    // A display name as an RFC 5322 quoted-string (it may hold specials such as '.' or ',').
    std::string quoted = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            quoted += '\\';
        }
        quoted += c;
    }
    quoted += '"';
    if (quoted.size() > 60) {
        return encoded_words(text);
    }
    return {quoted};
}

// "Name: token token ..." folded before a token that would pass the line limit. Folding puts
// CRLF before the space, so unfolding (RFC 5322 §2.2.3) gives the value back.
std::string header(std::string_view name, const std::vector<std::string>& tokens) {
    std::string out(name);
    out += ':';
    std::size_t line = out.size();
    for (const std::string& token : tokens) {
        if (line + 1 + token.size() > kMaxHeaderLine && line > name.size() + 1 && !token.empty()) {
            out += kCrlf;
            line = 0;
        }
        out += ' ';
        out += token;
        line += 1 + token.size();
    }
    out += kCrlf;
    return out;
}

std::string address_list(std::string_view name, const std::vector<std::string>& addresses) {
    std::vector<std::string> tokens;
    for (const std::string& a : addresses) {
        std::string clean = header_address(a);
        if (!clean.empty()) {
            tokens.push_back(std::move(clean));
        }
    }
    for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
        tokens[i] += ',';
    }
    return tokens.empty() ? std::string() : header(name, tokens);
}

std::string two_digits(unsigned v) {
    return {static_cast<char>('0' + v / 10 % 10), static_cast<char>('0' + v % 10)};
}

// RFC 5322 §3.3 date-time in UTC: "Tue, 14 May 2024 09:05:00 +0000".
std::string rfc5322_date(std::chrono::system_clock::time_point now) {
    using namespace std::chrono;
    constexpr std::array<std::string_view, 7> kDays = {
        "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    constexpr std::array<std::string_view, 12> kMonths = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const auto secs = floor<seconds>(now);
    const auto day = floor<days>(secs);
    const year_month_day ymd{day};
    const hh_mm_ss hms{secs - day};
    std::string out(kDays[weekday{day}.c_encoding()]);
    out += ", ";
    out += std::to_string(static_cast<unsigned>(ymd.day()));
    out += ' ';
    out += kMonths[static_cast<unsigned>(ymd.month()) - 1];
    out += ' ';
    out += std::to_string(static_cast<int>(ymd.year()));
    out += ' ';
    out += two_digits(static_cast<unsigned>(hms.hours().count())) + ':' +
           two_digits(static_cast<unsigned>(hms.minutes().count())) + ':' +
           two_digits(static_cast<unsigned>(hms.seconds().count()));
    out += " +0000";
    return out;
}

// Only what RFC 5322 dot-atom-text allows, so the id cannot leave its angle brackets.
std::string id_part(std::string_view s) {
    std::string out;
    for (const char c : s) {
        const bool alnum =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (alnum || std::string_view("!#$%&'*+-/=?^_`{|}~.").find(c) != std::string_view::npos) {
            out += c;
        }
    }
    return out;
}

std::string message_id_header(const MailMessage& m, std::string_view message_id) {
    std::string_view left = message_id;
    std::string_view domain = m.message_id_domain;
    if (const auto at = message_id.rfind('@'); at != std::string_view::npos) {
        left = message_id.substr(0, at);
        domain = message_id.substr(at + 1);
    } else if (domain.empty()) {
        const auto from_at = std::string_view(m.from).rfind('@');
        domain = from_at == std::string_view::npos ? std::string_view()
                                                   : std::string_view(m.from).substr(from_at + 1);
    }
    std::string l = id_part(left);
    std::string d = id_part(domain);
    return "Message-ID: <" + (l.empty() ? std::string("0") : l) + "@" +
           (d.empty() ? std::string("scim-bridge.invalid") : d) + ">\r\n";
}

// One MIME entity's headers and body: quoted-printable for mostly-ASCII text (readable in the
// raw), base64 when more than a third of the bytes are not ASCII (Cyrillic, say).
std::string text_entity(std::string_view subtype, std::string_view text) {
    const std::string crlf = to_crlf(text);
    const auto high = static_cast<std::size_t>(std::count_if(
        crlf.begin(), crlf.end(), [](char c) { return static_cast<unsigned char>(c) >= 128; }));
    const bool use_base64 = high * 3 > crlf.size();
    std::string out = "Content-Type: text/";
    out += subtype;
    out += "; charset=utf-8\r\nContent-Transfer-Encoding: ";
    out += use_base64 ? "base64" : "quoted-printable";
    out += "\r\n\r\n";
    out += use_base64 ? base64_lines(crlf) : quoted_printable(crlf);
    out += kCrlf;
    return out;
}

// ---------------------------------------------------------------------------------------------
// Addresses

bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Dot-separated, no empty part.
bool dotted(std::string_view s) {
    return !s.empty() && s.front() != '.' && s.back() != '.' &&
           s.find("..") == std::string_view::npos;
}

// The listed role words with '.', '-' and '_' removed, as the lookup compares them.
const std::set<std::string, std::less<>>& generic_local_parts() {
    static const std::set<std::string, std::less<>> kWords = {
        "info",       "sales",     "admin",      "administrator", "support",  "contact",
        "office",     "hello",     "help",       "helpdesk",      "billing",  "accounts",
        "accounting", "finance",   "invoice",    "invoices",      "noreply",  "donotreply",
        "postmaster", "webmaster", "hostmaster", "abuse",         "security", "marketing",
        "hr",         "jobs",      "careers",    "recruiting",    "team",     "enquiries",
        "inquiries",  "press",     "media",      "legal",         "privacy",  "service",
        "mail",       "root",      "it",         "ops",
    };
    return kWords;
}

// ---------------------------------------------------------------------------------------------
// Templates

constexpr std::array<std::string_view, 4> kKinds = {"invite", "reminder1", "reminder2", "copy"};
constexpr std::array<std::string_view, 5> kInvitationNames = {
    "person_name", "app_name", "organisation", "claim_url", "expires_at"};
constexpr std::array<std::string_view, 5> kCopyNames = {
    "person_name", "person_email", "app_name", "organisation", "expires_at"};
constexpr std::size_t kMaxTemplateFile = 256 * 1024;

bool known_placeholder(std::string_view kind, std::string_view name) {
    const auto& names = kind == "copy" ? kCopyNames : kInvitationNames;
    return std::find(names.begin(), names.end(), name) != names.end();
}

// "de_AT" and "DE-at" are "de-at".
std::string normalise_locale(std::string_view locale) {
    std::string out = scim::ascii_lower(locale);
    std::replace(out.begin(), out.end(), '_', '-');
    return out;
}

// A BCP 47 tag as far as file names need: a 2-3 letter language, then 1-8 character subtags.
bool valid_locale(std::string_view locale) {
    std::size_t pos = 0;
    bool first = true;
    for (;;) {
        const std::size_t end = std::min(locale.find('-', pos), locale.size());
        const std::string_view tag = locale.substr(pos, end - pos);
        const bool ok =
            first
                ? (tag.size() >= 2 && tag.size() <= 3 &&
                   std::all_of(tag.begin(), tag.end(), [](char c) { return c >= 'a' && c <= 'z'; }))
                : (!tag.empty() && tag.size() <= 8 &&
                   std::all_of(tag.begin(), tag.end(), is_alnum));
        if (!ok) {
            return false;
        }
        if (end == locale.size()) {
            return true;
        }
        first = false;
        pos = end + 1;
    }
}

// "{{ name }}" is "{{name}}".
std::string_view placeholder_name(std::string_view inside) {
    const std::size_t first = inside.find_first_not_of(' ');
    if (first == std::string_view::npos) {
        return {};
    }
    return inside.substr(first, inside.find_last_not_of(' ') - first + 1);
}

// Checks every {{name}} of a template; an empty string when all are known.
std::string check_template(std::string_view kind, std::string_view text) {
    std::size_t pos = 0;
    for (;;) {
        const std::size_t open = text.find("{{", pos);
        if (open == std::string_view::npos) {
            return {};
        }
        const auto line =
            1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(open), '\n');
        const std::size_t close = text.find("}}", open + 2);
        if (close == std::string_view::npos) {
            return "line " + std::to_string(line) + ": '{{' without '}}'";
        }
        const std::string_view name = placeholder_name(text.substr(open + 2, close - open - 2));
        if (!known_placeholder(kind, name)) {
            return "line " + std::to_string(line) + ": unknown placeholder {{" +
                   std::string(name.substr(0, 40)) + "}} for " + std::string(kind);
        }
        pos = close + 2;
    }
}

std::string html_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (const char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

using Values = std::map<std::string, std::string, std::less<>>;

// Replaces every {{name}} (checked at load time; an unknown one is left out).
std::string substitute(std::string_view text, const Values& values, bool escape) {
    std::string out;
    std::size_t pos = 0;
    for (;;) {
        const std::size_t open = text.find("{{", pos);
        const std::size_t close = open == std::string_view::npos ? open : text.find("}}", open + 2);
        if (close == std::string_view::npos) {
            out += text.substr(pos);
            return out;
        }
        out += text.substr(pos, open - pos);
        const std::string_view name = placeholder_name(text.substr(open + 2, close - open - 2));
        if (const auto it = values.find(name); it != values.end()) {
            out += escape ? html_escape(it->second) : it->second;
        }
        pos = close + 2;
    }
}

// The built-in wording per language. Each phrase is a template; the text and HTML parts are
// assembled from them the same way for every language, so all read alike.
struct Phrases {
    std::string_view locale;
    std::array<std::string_view, 4> subject;  // invite, reminder1, reminder2, copy
    std::string_view greeting;
    std::array<std::string_view, 3> lead;  // invite, reminder1, reminder2
    std::string_view button;
    std::string_view expiry;
    std::string_view ignore;
    std::string_view copy_lead;
    std::string_view copy_note;
};

constexpr std::array<Phrases, 5> kBuiltIn = {{
    {"en",
     {"Your {{app_name}} account at {{organisation}}",
      "Reminder: your {{app_name}} account at {{organisation}}",
      "Last reminder: your {{app_name}} account at {{organisation}}",
      "Invitation sent: {{person_name}}, {{app_name}}"},
     "Hello {{person_name}},",
     {"{{organisation}} has set up a {{app_name}} account for you. To claim it, open this link:",
      "{{organisation}} has set up a {{app_name}} account for you, and it is still waiting. To "
      "claim it, open this link:",
      "This is the last reminder: your {{app_name}} account at {{organisation}} has not been "
      "claimed yet. To claim it, open this link:"},
     "Claim your {{app_name}} account",
     "The link is personal and valid until {{expires_at}}. Please do not forward it.",
     "If you did not expect this message, you can ignore it.",
     "{{organisation}} invited {{person_name}} <{{person_email}}> to {{app_name}}. The "
     "invitation is valid until {{expires_at}}. The link was sent to that person only.",
     "This is an automatic copy for your records."},
    {"de",
     {"Ihr {{app_name}}-Konto bei {{organisation}}",
      "Erinnerung: Ihr {{app_name}}-Konto bei {{organisation}}",
      "Letzte Erinnerung: Ihr {{app_name}}-Konto bei {{organisation}}",
      "Einladung versendet: {{person_name}}, {{app_name}}"},
     "Guten Tag {{person_name}},",
     {"{{organisation}} hat für Sie ein {{app_name}}-Konto eingerichtet. Um es zu übernehmen, "
      "öffnen Sie diesen Link:",
      "{{organisation}} hat für Sie ein {{app_name}}-Konto eingerichtet, das noch auf Sie "
      "wartet. Um es zu übernehmen, öffnen Sie diesen Link:",
      "Dies ist die letzte Erinnerung: Ihr {{app_name}}-Konto bei {{organisation}} wurde noch "
      "nicht übernommen. Um es zu übernehmen, öffnen Sie diesen Link:"},
     "{{app_name}}-Konto übernehmen",
     "Der Link ist persönlich und gilt bis {{expires_at}}. Bitte leiten Sie ihn nicht weiter.",
     "Falls Sie diese Nachricht nicht erwartet haben, können Sie sie ignorieren.",
     "{{organisation}} hat {{person_name}} <{{person_email}}> zu {{app_name}} eingeladen. Die "
     "Einladung gilt bis {{expires_at}}. Der Link wurde nur an diese Person gesendet.",
     "Dies ist eine automatische Kopie für Ihre Unterlagen."},
    {"fr",
     {"Votre compte {{app_name}} chez {{organisation}}",
      "Rappel : votre compte {{app_name}} chez {{organisation}}",
      "Dernier rappel : votre compte {{app_name}} chez {{organisation}}",
      "Invitation envoyée : {{person_name}}, {{app_name}}"},
     "Bonjour {{person_name}},",
     {"{{organisation}} a créé un compte {{app_name}} pour vous. Pour l’activer, ouvrez ce "
      "lien :",
      "{{organisation}} a créé un compte {{app_name}} pour vous, et il vous attend toujours. "
      "Pour l’activer, ouvrez ce lien :",
      "Ceci est le dernier rappel : votre compte {{app_name}} chez {{organisation}} n’a pas "
      "encore été activé. Pour l’activer, ouvrez ce lien :"},
     "Activer mon compte {{app_name}}",
     "Ce lien est personnel et valable jusqu’au {{expires_at}}. Merci de ne pas le transférer.",
     "Si vous n’attendiez pas ce message, vous pouvez l’ignorer.",
     "{{organisation}} a invité {{person_name}} <{{person_email}}> à {{app_name}}. "
     "L’invitation est valable jusqu’au {{expires_at}}. Le lien a été envoyé uniquement à "
     "cette personne.",
     "Ceci est une copie automatique pour vos dossiers."},
    {"es",
     {"Su cuenta de {{app_name}} en {{organisation}}",
      "Recordatorio: su cuenta de {{app_name}} en {{organisation}}",
      "Último recordatorio: su cuenta de {{app_name}} en {{organisation}}",
      "Invitación enviada: {{person_name}}, {{app_name}}"},
     "Hola, {{person_name}}:",
     {"{{organisation}} ha creado una cuenta de {{app_name}} para usted. Para activarla, abra "
      "este enlace:",
      "{{organisation}} ha creado una cuenta de {{app_name}} para usted que sigue pendiente. "
      "Para activarla, abra este enlace:",
      "Este es el último recordatorio: su cuenta de {{app_name}} en {{organisation}} aún no se "
      "ha activado. Para activarla, abra este enlace:"},
     "Activar mi cuenta de {{app_name}}",
     "El enlace es personal y es válido hasta el {{expires_at}}. Por favor, no lo reenvíe.",
     "Si no esperaba este mensaje, puede ignorarlo.",
     "{{organisation}} ha invitado a {{person_name}} <{{person_email}}> a {{app_name}}. La "
     "invitación es válida hasta el {{expires_at}}. El enlace se ha enviado solo a esa persona.",
     "Esta es una copia automática para sus registros."},
    {"uk",
     {"Ваш обліковий запис {{app_name}} в організації {{organisation}}",
      "Нагадування: ваш обліковий запис {{app_name}} в організації {{organisation}}",
      "Останнє нагадування: ваш обліковий запис {{app_name}} в організації {{organisation}}",
      "Запрошення надіслано: {{person_name}}, {{app_name}}"},
     "Вітаємо, {{person_name}}!",
     {"Організація {{organisation}} створила для вас обліковий запис {{app_name}}. Щоб "
      "активувати його, відкрийте це посилання:",
      "Організація {{organisation}} створила для вас обліковий запис {{app_name}}, і він досі "
      "чекає на вас. Щоб активувати його, відкрийте це посилання:",
      "Це останнє нагадування: ваш обліковий запис {{app_name}} в організації {{organisation}} "
      "ще не активовано. Щоб активувати його, відкрийте це посилання:"},
     "Активувати обліковий запис {{app_name}}",
     "Посилання персональне і дійсне до {{expires_at}}. Будь ласка, не пересилайте його.",
     "Якщо ви не очікували цього листа, просто проігноруйте його.",
     "Організація {{organisation}} запросила {{person_name}} <{{person_email}}> до "
     "{{app_name}}. Запрошення дійсне до {{expires_at}}. Посилання надіслано лише цій особі.",
     "Це автоматична копія для ваших записів."},
}};

// A plain, accessible page: the language declared, a title, paragraphs, the link as a link and
// as visible text (some readers and printouts lose the href). Phrases are escaped as HTML; the
// {{placeholders}} survive escaping and are escaped when filled.
std::string html_page(std::string_view locale,
                      std::string_view subject,
                      const std::vector<std::string>& paragraphs) {
    std::string out = "<!DOCTYPE html>\n<html lang=\"";
    out += locale;
    out += "\">\n<head>\n<meta charset=\"utf-8\">\n<title>";
    out += html_escape(subject);
    out += "</title>\n</head>\n<body>\n";
    for (const std::string& p : paragraphs) {
        out += p;
        out += '\n';
    }
    out += "</body>\n</html>\n";
    return out;
}

std::string para(std::string_view text) {
    return "<p>" + html_escape(text) + "</p>";
}

MailTemplates::Parts invitation_parts(const Phrases& p, std::size_t kind) {
    MailTemplates::Parts parts;
    parts.subject = p.subject[kind];
    parts.text = std::string(p.greeting) + "\n\n" + std::string(p.lead[kind]) +
                 "\n\n{{claim_url}}\n\n" + std::string(p.expiry) + "\n\n" + std::string(p.ignore) +
                 "\n";
    parts.html = html_page(p.locale,
                           p.subject[kind],
                           {para(p.greeting),
                            para(p.lead[kind]),
                            "<p><a href=\"{{claim_url}}\">" + html_escape(p.button) + "</a></p>",
                            "<p>{{claim_url}}</p>",
                            para(p.expiry),
                            para(p.ignore)});
    return parts;
}

MailTemplates::Parts copy_parts(const Phrases& p) {
    MailTemplates::Parts parts;
    parts.subject = p.subject[3];
    parts.text = std::string(p.copy_lead) + "\n\n" + std::string(p.copy_note) + "\n";
    parts.html = html_page(p.locale, p.subject[3], {para(p.copy_lead), para(p.copy_note)});
    return parts;
}

std::string key_of(std::string_view kind, std::string_view locale) {
    return std::string(kind) + "." + std::string(locale);
}

void set_why(std::string* why, std::string text) {
    if (why != nullptr) {
        *why = std::move(text);
    }
}

// The subject file's one line (a final newline, as editors write, is dropped).
std::optional<std::string> subject_line(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
        text.pop_back();
    }
    if (text.find_first_of("\r\n") != std::string::npos) {
        return std::nullopt;
    }
    return text;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string render_rfc5322(const MailMessage& message,
                           std::chrono::system_clock::time_point now,
                           std::string_view message_id) {
    std::string out = "Date: " + rfc5322_date(now) + "\r\n";

    std::vector<std::string> from;
    const std::string name = header_safe(message.from_name);
    if (!name.empty()) {
        from = text_tokens(name, /*quote_ascii=*/true);
    }
    from.push_back(name.empty() ? header_address(message.from)
                                : "<" + header_address(message.from) + ">");
    out += header("From", from);
    out += address_list("To", message.to);
    out += address_list("Cc", message.cc);
    // Bcc is never written: the envelope (RCPT TO) alone carries those recipients.
    out += header("Subject", text_tokens(header_safe(message.subject), /*quote_ascii=*/false));
    out += message_id_header(message, message_id);
    out += "MIME-Version: 1.0\r\n";
    if (message.html.empty()) {
        out += text_entity("plain", message.text);
        return out;
    }
    out += "Content-Type: multipart/alternative; boundary=\"";
    out += kBoundary;
    out += "\"\r\n\r\n";
    out += "--";
    out += kBoundary;
    out += kCrlf;
    out += text_entity("plain", message.text);
    out += "--";
    out += kBoundary;
    out += kCrlf;
    out += text_entity("html", message.html);
    out += "--";
    out += kBoundary;
    out += "--\r\n";
    return out;
}

bool is_plausible_email(std::string_view email) {
    const std::size_t at = email.find('@');
    if (email.size() > 254 || at == std::string_view::npos ||
        email.find('@', at + 1) != std::string_view::npos) {
        return false;
    }
    for (const char ch : email) {
        const auto c = static_cast<unsigned char>(ch);
        if (c <= 32 || c >= 127 ||
            std::string_view("<>,;:\"\\()[]").find(ch) != std::string_view::npos) {
            return false;
        }
    }
    const std::string_view local = email.substr(0, at);
    const std::string_view domain = email.substr(at + 1);
    if (local.size() > 64 || !dotted(local) || !dotted(domain) ||
        domain.find('.') == std::string_view::npos) {
        return false;
    }
    // Domain labels: letters, digits, hyphens, not at either end of a label.
    std::size_t pos = 0;
    for (;;) {
        const std::size_t end = std::min(domain.find('.', pos), domain.size());
        const std::string_view label = domain.substr(pos, end - pos);
        if (label.size() > 63 || label.front() == '-' || label.back() == '-' ||
            !std::all_of(
                label.begin(), label.end(), [](char c) { return is_alnum(c) || c == '-'; })) {
            return false;
        }
        if (end == domain.size()) {
            return true;
        }
        pos = end + 1;
    }
}

bool is_generic_mailbox(std::string_view email) {
    std::string_view local = email.substr(0, email.rfind('@'));
    local = local.substr(0, local.find('+'));
    std::string key;
    for (const char c : local) {
        if (c != '.' && c != '-' && c != '_') {
            key += c;
        }
    }
    return generic_local_parts().contains(scim::ascii_lower(key));
}

// ---------------------------------------------------------------------------------------------

std::string_view to_string(InvitationMail kind) {
    switch (kind) {
        case InvitationMail::kInvite:
            return kKinds[0];
        case InvitationMail::kReminder1:
            return kKinds[1];
        case InvitationMail::kReminder2:
            return kKinds[2];
    }
    return kKinds[0];
}

MailTemplates::MailTemplates() {
    for (const Phrases& p : kBuiltIn) {
        for (std::size_t kind = 0; kind < 3; ++kind) {
            by_key_[key_of(kKinds[kind], p.locale)] = invitation_parts(p, kind);
        }
        by_key_[key_of("copy", p.locale)] = copy_parts(p);
    }
}

std::optional<MailTemplates> MailTemplates::load_directory(const std::string& directory,
                                                           std::string* why) {
    namespace fs = std::filesystem;
    const std::string where = "mail templates in " + directory + ": ";
    std::vector<fs::path> files;
    std::error_code ec;
    for (fs::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->is_regular_file(ec)) {
            files.push_back(it->path());
        }
    }
    if (ec) {
        set_why(why, where + ec.message());
        return std::nullopt;
    }
    std::sort(files.begin(), files.end());  // the same file is named first on every run

    struct Override {
        std::optional<std::string> subject, text, html;
    };
    std::map<std::string, Override, std::less<>> overrides;
    for (const fs::path& path : files) {
        const std::string file = path.filename().string();
        const std::string ext = path.extension().string();
        if (ext != ".subject" && ext != ".txt" && ext != ".html") {
            continue;  // a README next to the templates, say
        }
        const std::string stem = path.stem().string();
        const std::size_t dot = stem.find('.');
        const std::string kind = stem.substr(0, dot);
        const std::string locale =
            dot == std::string::npos ? std::string() : normalise_locale(stem.substr(dot + 1));
        if (std::find(kKinds.begin(), kKinds.end(), kind) == kKinds.end()) {
            set_why(why,
                    where + file + ": unknown kind '" + kind +
                        "' (invite, reminder1, reminder2, copy)");
            return std::nullopt;
        }
        if (!valid_locale(locale)) {
            set_why(why, where + file + ": '" + locale + "' is not a locale (de, de-AT, ...)");
            return std::nullopt;
        }
        std::ifstream in(path, std::ios::binary);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (!in.good() && !in.eof()) {
            set_why(why, where + file + ": cannot be read");
            return std::nullopt;
        }
        if (text.size() > kMaxTemplateFile) {
            set_why(why, where + file + ": larger than 256 KiB");
            return std::nullopt;
        }
        if (!scim::is_valid_utf8(text)) {
            set_why(why, where + file + ": not UTF-8");
            return std::nullopt;
        }
        if (const std::string problem = check_template(kind, text); !problem.empty()) {
            set_why(why, where + file + ": " + problem);
            return std::nullopt;
        }
        Override& o = overrides[key_of(kind, locale)];
        if (ext == ".subject") {
            auto line = subject_line(std::move(text));
            if (!line) {
                set_why(why, where + file + ": a subject is one line");
                return std::nullopt;
            }
            o.subject = std::move(*line);
        } else if (ext == ".txt") {
            o.text = std::move(text);
        } else {
            o.html = std::move(text);
        }
    }

    MailTemplates templates;
    for (auto& [key, o] : overrides) {
        const auto existing = templates.by_key_.find(key);
        if (existing == templates.by_key_.end()) {
            for (const auto& [part, value] : {std::pair{".subject", &o.subject},
                                              std::pair{".txt", &o.text},
                                              std::pair{".html", &o.html}}) {
                if (!value->has_value()) {
                    set_why(why,
                            where + key + part +
                                " is missing (a locale without built-in "
                                "templates needs .subject, .txt and .html)");
                    return std::nullopt;
                }
            }
        }
        Parts& parts = templates.by_key_[key];
        if (o.subject) {
            parts.subject = std::move(*o.subject);
        }
        if (o.text) {
            parts.text = std::move(*o.text);
        }
        if (o.html) {
            parts.html = std::move(*o.html);
        }
    }
    return templates;
}

const MailTemplates::Parts& MailTemplates::find(std::string_view kind,
                                                std::string_view locale) const {
    const std::string normal = normalise_locale(locale);
    if (const auto it = by_key_.find(key_of(kind, normal)); it != by_key_.end()) {
        return it->second;
    }
    const std::string language = normal.substr(0, normal.find('-'));
    if (const auto it = by_key_.find(key_of(kind, language)); it != by_key_.end()) {
        return it->second;
    }
    if (const auto it = by_key_.find(key_of(kind, "en")); it != by_key_.end()) {
        return it->second;
    }
    return by_key_.at(key_of("invite", "en"));  // unreachable: every kind has an "en" built-in
}

std::vector<std::string> MailTemplates::locales(std::string_view kind) const {
    std::vector<std::string> out;
    const std::string prefix = std::string(kind) + ".";
    for (const auto& [key, parts] : by_key_) {
        if (key.starts_with(prefix)) {
            out.push_back(key.substr(prefix.size()));
        }
    }
    return out;
}

RenderedMail render_invitation(InvitationMail kind,
                               const InvitationMailVars& vars,
                               const MailTemplates& templates) {
    const Values values = {{"person_name", vars.person_name},
                           {"app_name", vars.app_name},
                           {"organisation", vars.organisation},
                           {"claim_url", vars.claim_url},
                           {"expires_at", vars.expires_at}};
    const auto& t = templates.find(to_string(kind), vars.locale);
    return {header_safe(substitute(t.subject, values, false)),
            substitute(t.text, values, false),
            substitute(t.html, values, true)};
}

RenderedMail render_copy_summary(const CopySummaryVars& vars, const MailTemplates& templates) {
    const Values values = {{"person_name", vars.person_name},
                           {"person_email", vars.person_email},
                           {"app_name", vars.app_name},
                           {"organisation", vars.organisation},
                           {"expires_at", vars.expires_at}};
    const auto& t = templates.find("copy", vars.locale);
    return {header_safe(substitute(t.subject, values, false)),
            substitute(t.text, values, false),
            substitute(t.html, values, true)};
}

}  // namespace scimbridge::mappers
