// The webhook connector: one signed POST per event (Standard Webhooks). The event id is the
// webhook-id, stable across retries, so receivers dedupe on it (reliability plan §2.2).

#include "mappers/connector.hpp"
#include "mappers/webhook_signature.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <utility>

namespace scimbridge::mappers {

namespace {

class WebhookConnector final : public Connector {
public:
    WebhookConnector(WebhookConfig config, WallClock clock)
        : config_(std::move(config)), clock_(std::move(clock)) {
        if (!clock_) {
            clock_ = [] { return std::chrono::system_clock::now(); };
        }
        // sign_webhook's precondition; checked once so a bad secret fails loudly, not in OpenSSL.
        secrets_valid_ =
            !config_.secrets.empty() &&
            std::all_of(config_.secrets.begin(), config_.secrets.end(), [](const std::string& s) {
                return decode_webhook_secret(s).has_value();
            });
    }

    DeliveryResult deliver(const OutboundEvent& event, HttpTransport& transport) override {
        if (!secrets_valid_) {
            // A configuration error an admin can fix: keep the event.
            DeliveryResult result;
            result.kind = DeliveryResult::Kind::kRetry;
            result.detail = "webhook signing secret missing or invalid";
            return result;
        }
        HttpRequest request;
        request.method = "POST";
        request.url = config_.url;
        request.body = boost::json::serialize(webhook_body(event));
        request.deadline = config_.deadline;
        const std::int64_t timestamp =
            std::chrono::duration_cast<std::chrono::seconds>(clock_().time_since_epoch()).count();
        request.headers["Content-Type"] = "application/json";
        request.headers["webhook-id"] = event.id;
        request.headers["webhook-timestamp"] = std::to_string(timestamp);
        request.headers["webhook-signature"] =
            signature_header(config_.secrets, event.id, timestamp, request.body);

        const HttpResponse response = transport.send(request);
        DeliveryResult result = classify(response, clock_());
        result.requests = 1;
        if (result.kind == DeliveryResult::Kind::kDone) {
            // An app may answer with the account it created; anything else in the body is fine.
            if (const auto answer = response_object(response)) {
                for (const std::string_view name : {"account_id", "remote_id", "id"}) {
                    if (auto id = id_member(*answer, name)) {
                        result.remote_id = std::move(id);
                        break;
                    }
                }
            }
        }
        return result;
    }

private:
    WebhookConfig config_;
    WallClock clock_;
    bool secrets_valid_ = false;
};

}  // namespace

std::unique_ptr<Connector> make_webhook_connector(WebhookConfig config, WallClock clock) {
    return std::make_unique<WebhookConnector>(std::move(config), std::move(clock));
}

}  // namespace scimbridge::mappers
