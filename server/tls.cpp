#include "server/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <fstream>
#include <stdexcept>

namespace scimbridge::server {

namespace ssl = boost::asio::ssl;

namespace {
// https://ssl-config.mozilla.org/ "intermediate" (TLS 1.2 part; TLS 1.3 suites are OpenSSL's).
constexpr const char* kIntermediateCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

void require_readable(const std::string& path, const char* what) {
    if (path.empty()) {
        throw std::runtime_error(std::string(what) + " is not configured");
    }
    std::ifstream in(path);
    if (!in) {
        throw std::runtime_error(std::string("cannot read ") + what + " " + path);
    }
}

std::string openssl_reason() {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) {
        return "unknown OpenSSL error";
    }
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    return buf;
}
}  // namespace

ssl::context make_tls_context(const std::string& cert_chain_file, const std::string& key_file) {
    require_readable(cert_chain_file, "TLS certificate");
    require_readable(key_file, "TLS private key");
    ssl::context ctx{ssl::context::tls_server};
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                    ssl::context::single_dh_use);
    SSL_CTX* native = ctx.native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_dh_auto(native, 1);
    if (SSL_CTX_set_cipher_list(native, kIntermediateCiphers) != 1) {
        throw std::runtime_error("cannot set the TLS cipher list: " + openssl_reason());
    }
    if (SSL_CTX_use_certificate_chain_file(native, cert_chain_file.c_str()) != 1) {
        throw std::runtime_error("cannot load TLS certificate " + cert_chain_file + ": " +
                                 openssl_reason());
    }
    if (SSL_CTX_use_PrivateKey_file(native, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
        throw std::runtime_error("cannot load TLS private key " + key_file + ": " +
                                 openssl_reason());
    }
    if (SSL_CTX_check_private_key(native) != 1) {
        throw std::runtime_error("TLS private key " + key_file + " does not match certificate " +
                                 cert_chain_file);
    }
    return ctx;
}

}  // namespace scimbridge::server
