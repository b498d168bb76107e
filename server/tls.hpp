#pragma once
// The server's TLS context: TLS 1.2 and 1.3 only, Mozilla's "intermediate" cipher list for
// TLS 1.2, certificate chain and key from PEM files.

#include <boost/asio/ssl/context.hpp>

#include <string>

namespace scimbridge::server {

// Throws std::runtime_error with a one-line reason (unreadable file, key does not match, ...).
boost::asio::ssl::context make_tls_context(const std::string& cert_chain_file,
                                           const std::string& key_file);

}  // namespace scimbridge::server
