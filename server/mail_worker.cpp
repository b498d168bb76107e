#include "server/mail_worker.hpp"

#include "server/log.hpp"
#include "server/thread_name.hpp"

#include <algorithm>
#include <cmath>

namespace scimbridge::server {

MailWorker::MailWorker(mappers::LifecycleStore& store, mappers::LifecycleService& lifecycle,
                       mappers::Mailer& mailer, const mappers::MailTemplates& templates, Options options)
    : store_(store), lifecycle_(lifecycle), mailer_(mailer), templates_(templates), options_(std::move(options)) {}

MailWorker::~MailWorker() { stop(); }

void MailWorker::start() {
    stop_ = false;
    thread_ = std::thread([this] {
        name_this_thread("sb-mail");
        while (!stop_) {
            std::size_t handled = 0;
            try {
                handled = run_once();
            } catch (const std::exception& e) {
                log::error("mail worker failed", {{"error", e.what()}});
            }
            if (handled == 0) {
                std::unique_lock lock(mutex_);
                cv_.wait_for(lock, options_.poll, [this] { return stop_.load(); });
            }
        }
    });
}

void MailWorker::stop() {
    if (!thread_.joinable()) {
        return;
    }
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

std::size_t MailWorker::run_once() {
    const auto jobs = store_.claim_mails(10, std::chrono::minutes(5));
    for (const mappers::InvitationMailJob& job : jobs) {
        send(job);
    }
    return jobs.size();
}

void MailWorker::send(const mappers::InvitationMailJob& job) {
    if (job.kind != "copy" && job.invitation_state != "open") {
        store_.finish_mail(job.id, "cancelled", "invitation " + job.invitation_state, {});
        return;
    }
    mappers::RenderedMail rendered;
    if (job.kind == "copy") {
        rendered = mappers::render_copy_summary(
            mappers::CopySummaryVars{job.display_name, job.invitation_email, job.app_name, job.tenant_name,
                                     job.expires_at, job.locale},
            templates_);
    } else {
        const mappers::InvitationMail kind = job.kind == "reminder1"   ? mappers::InvitationMail::kReminder1
                                             : job.kind == "reminder2" ? mappers::InvitationMail::kReminder2
                                                                       : mappers::InvitationMail::kInvite;
        rendered = mappers::render_invitation(
            kind,
            mappers::InvitationMailVars{job.display_name, job.app_name, job.tenant_name,
                                        lifecycle_.claim_url(job.invitation_id), job.expires_at, job.locale},
            templates_);
    }
    mappers::MailMessage message;
    message.from = options_.from;
    message.from_name = options_.from_name;
    message.to = {job.recipient};
    message.subject = std::move(rendered.subject);
    message.text = std::move(rendered.text);
    message.html = std::move(rendered.html);
    const mappers::MailResult result = mailer_.send(message);
    if (result.outcome == mappers::MailOutcome::kSent) {
        store_.finish_mail(job.id, "sent", "", {});
        return;
    }
    if (result.outcome == mappers::MailOutcome::kPermanent || job.attempts >= options_.max_attempts) {
        store_.finish_mail(job.id, "dead", result.detail, {});
        log::warn("invitation mail dead-lettered", {{"mail_id", job.id}, {"detail", result.detail}});
        return;
    }
    const double base = static_cast<double>(options_.first_retry.count()) * std::pow(2.0, job.attempts - 1);
    const double delay = std::min(base, 3'600'000.0) * options_.time_scale;
    store_.finish_mail(job.id, "pending", result.detail,
                       std::chrono::milliseconds(std::max<std::int64_t>(10, static_cast<std::int64_t>(delay))));
}

}  // namespace scimbridge::server
