#pragma once
// IdP dialects (DESIGN §3, reference/idp-dialects.md): which non-RFC shapes a request may carry
// and how the normaliser treats them, and the log of the rewrites one request needed.

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace scimbridge::scim {

// How the PATCH decoder and the resource normaliser treat a request from one credential.
struct Dialect {
    // false (the token's strict mode): every non-RFC shape is a 400 that names it.
    bool rewrite = true;
    // Entra: replace on a filtered element that matches nothing creates it (RFC: 400 noTarget).
    // On for source entra, and for generic sources once a request shows Entra's capitalised ops.
    bool create_missing_filtered = false;
    std::string source = "generic";
};

Dialect dialect_for(std::string_view source, bool strict);

// The rewrites one request needed, each named once ("op_case", "bool_string", ...). Counted per
// tenant and source by the server; readable by admins.
class RewriteLog {
public:
    void note(std::string_view rewrite) {
        if (std::find(names_.begin(), names_.end(), rewrite) == names_.end()) {
            names_.emplace_back(rewrite);
        }
    }
    const std::vector<std::string>& names() const { return names_; }
    bool empty() const { return names_.empty(); }

private:
    std::vector<std::string> names_;
};

}  // namespace scimbridge::scim
