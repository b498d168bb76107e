#pragma once
// The HTTP message types every layer of the edge shares. Only Beast's message headers, no Asio.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>

namespace scimbridge::server {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

}  // namespace scimbridge::server
