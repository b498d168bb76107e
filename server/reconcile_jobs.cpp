#include "server/reconcile_jobs.hpp"

#include "mappers/app.hpp"
#include "scim/schema.hpp"
#include "server/ids.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace scimbridge::server {

namespace json = boost::json;
using mappers::Drift;
using mappers::Repair;
using scim::ResourceKind;

namespace {

constexpr std::size_t kSamples = 50;

// Counts and samples of one resource type.
struct Tally {
    std::size_t checked = 0;
    std::map<Drift, std::size_t> drift;
    std::map<std::string, std::size_t> attributes;  // stale attributes by name
    std::map<Drift, json::array> samples;

    void note(Drift d, const std::string& id, const std::vector<std::string>& attrs) {
        ++drift[d];
        for (const std::string& a : attrs) {
            ++attributes[a];
        }
        if (d != Drift::kNone && d != Drift::kInFlight && samples[d].size() < kSamples) {
            json::object s{{"id", id}};
            if (!attrs.empty()) {
                json::array names;
                for (const std::string& a : attrs) names.emplace_back(a);
                s["attributes"] = std::move(names);
            }
            samples[d].push_back(std::move(s));
        }
    }
    json::object report() const {
        json::object o{{"checked", checked}};
        for (const Drift d : {Drift::kNone, Drift::kInFlight, Drift::kUndelivered, Drift::kMissing, Drift::kStale}) {
            const auto it = drift.find(d);
            o[d == Drift::kNone ? "in_sync" : mappers::to_string(d)] = it == drift.end() ? 0 : it->second;
        }
        json::object attrs;
        for (const auto& [k, v] : attributes) attrs[k] = v;
        o["stale_attributes"] = std::move(attrs);
        json::object s;
        for (const auto& [d, list] : samples) s[mappers::to_string(d)] = list;
        o["samples"] = std::move(s);
        return o;
    }
};

// Where a run resumed after a crash goes on: after the last page its walk finished (the
// checkpoint saved after each page). nullopt for a run starting afresh, or a checkpoint that
// names no page.
struct Resume {
    std::string phase;  // "users" or "groups"
    std::string after;  // the last resource id of the page finished
    std::size_t checked = 0;
    std::size_t users_checked = 0;  // phase groups: the users walked
    std::size_t repairs = 0;
};

std::optional<Resume> resume_from(const mappers::ScheduleRun& run) {
    if (run.resumed == 0) {
        return std::nullopt;
    }
    const json::object& c = run.checkpoint;
    const auto count = [&](const char* key) -> std::size_t {
        const json::value* v = c.if_contains(key);
        return v != nullptr && v->is_int64() && v->as_int64() >= 0 ? static_cast<std::size_t>(v->as_int64()) : 0;
    };
    const json::value* phase = c.if_contains("phase");
    const json::value* after = c.if_contains("after");
    if (phase == nullptr || !phase->is_string() || (phase->as_string() != "users" && phase->as_string() != "groups") ||
        after == nullptr || !after->is_string() || after->as_string().empty()) {
        return std::nullopt;
    }
    return Resume{std::string(phase->as_string()), std::string(after->as_string()), count("checked"),
                  count("users_checked"), count("repairs")};
}

constexpr const char* kStopped = "stopped (shutting down or no longer the leader); a run cut short by a "
                                 "shutdown or a crash is resumed after its checkpoint by the next leader";

// One user of a webhook batch, kept until the app answers.
struct Pending {
    mappers::DesiredUser user;
    Drift local = Drift::kNone;
};

class Reconciler {
public:
    Reconciler(mappers::ReconcileStore& store, scim::ResourceStore& resources, mappers::HttpTransport& transport,
               const ReconcileOptions& options, JobContext& job, const mappers::AppDefinition& app,
               const scim::SchemaRegistry& registry, std::string tenant_id)
        : store_(store),
          resources_(resources),
          transport_(transport),
          options_(options),
          job_(job),
          app_(app),
          registry_(registry),
          tenant_(std::move(tenant_id)),
          webhook_(app.connector == "webhook") {}

    scim::Result<json::object> run() {
        const auto started = std::chrono::steady_clock::now();
        if (resume_) {
            // The users walked before the crash are not walked again: the map from the app's ids
            // to ours (group members are compared through it) comes from what the bridge recorded.
            repairs_ = resume_->repairs;
            for (auto& [id, remote] : store_.user_remote_ids(tenant_, app_.id)) {
                remote_to_canonical_[remote] = id;
                canonical_to_remote_[id] = std::move(remote);
            }
        }
        if (!webhook_) {
            mappers::ScimTargetConfig config = app_.scim;
            config.deadline = options_.deadline;
            mappers::ReadBackLimits limits;
            limits.page_size = options_.page;
            limits.between_pages = [this] { job_.pause_between_pages(); };
            // Real time, as app_object.updated_at is (not the scheduler's clock, which tests scale).
            read_back_began_ = SystemClock().now_rfc3339();
            auto read = mappers::read_back(config, transport_, app_.groups, limits);
            if (!read) {
                return read.error();  // nothing judged: a partial read-back would look like drift
            }
            held_ = std::move(*read);
            requests_ += static_cast<std::size_t>(held_.requests);
        }
        if (auto r = users(); !r) return r.error();
        if (app_.groups) {
            if (auto r = groups(); !r) return r.error();
        }
        if (auto r = gone(); !r) return r.error();
        handle_orphans();
        json::object report{{"app", app_.id},
                            {"name", app_.name},
                            {"connector", app_.connector},
                            {"dry_run", job_.run.dry_run},
                            {"users", users_.report()},
                            {"repairs_enqueued", job_.run.dry_run ? 0 : repairs_},
                            {"requests", requests_},
                            {"orphans", orphans_report_},
                            {"errors", errors_}};
        if (resume_) {
            report["resumed_from"] = job_.run.checkpoint;
        }
        if (app_.groups) {
            report["groups"] = groups_.report();
        }
        if (!webhook_) {
            report["read_back"] = json::object{{"users", held_.users.size()}, {"groups", held_.groups.size()}};
        } else {
            report["app_answers"] = supported_ ? "resync" : "none (the app does not answer resync batches)";
        }
        report["duration_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - started).count();
        return report;
    }

private:
    // ---- users ----------------------------------------------------------------------------------

    scim::Result<void> users() {
        scim::ListRequest request;
        request.kind = ResourceKind::kUser;
        request.registry = &registry_;
        request.count = static_cast<std::int64_t>(options_.page);
        request.cursor_mode = true;
        request.load.groups = app_.scope_group.has_value();
        if (resume_ && resume_->phase == "groups") {
            users_.checked = resume_->users_checked;  // walked before the crash
            return {};
        }
        if (resume_) {
            users_.checked = resume_->checked;
            request.after = scim::Cursor{std::nullopt, false, resume_->after, false, 0, 0};
        }
        for (;;) {
            if (!job_.keep_going()) return scim::Error::unavailable(kStopped);
            auto page = resources_.list(tenant_, request);
            if (!page) return page.error();
            if (page->resources.empty()) break;
            std::vector<std::string> ids;
            for (const scim::StoredResource& r : page->resources) ids.push_back(r.id);
            auto recorded = store_.recorded(tenant_, app_.id, ResourceKind::kUser, ids, read_back_began_);
            std::vector<Pending> batch;
            std::vector<Repair> repairs;
            for (const scim::StoredResource& r : page->resources) {
                mappers::Recorded& rec = recorded[r.id];
                mappers::Desired desired = mappers::desired_for(app_, ResourceKind::kUser, r, registry_, options_.base_url);
                mappers::DesiredUser user;
                user.id = r.id;
                user.version = r.version;
                user.facts = mappers::UserFacts{true, desired.active, desired.in_scope};
                user.payload = std::move(desired.payload);
                user.object = std::move(rec.object);
                user.in_flight = rec.in_flight;
                user.connector_receives_events = webhook_;
                user.written_since_read_back = rec.written_since;
                if (user.object && user.object->remote_id) {
                    remote_to_canonical_[*user.object->remote_id] = r.id;
                    canonical_to_remote_[r.id] = *user.object->remote_id;
                }
                ++users_.checked;
                mappers::Verdict verdict = mappers::judge_recorded(app_.policies, user);
                if (webhook_) {
                    if (user.object) {
                        batch.push_back(Pending{std::move(user), verdict.drift});
                        continue;  // judged with the app's answer
                    }
                    if (verdict.drift != Drift::kNone) {
                        unlisted_.insert(user.id);  // the app may hold it: not an orphan
                    }
                } else {
                    const mappers::Verdict held = mappers::judge_held_user(user, held_.users);
                    if (verdict.drift == Drift::kNone) {
                        verdict = held;
                    }
                }
                conclude(user, verdict, repairs);
            }
            if (webhook_) {
                if (auto r = ask(std::move(batch), repairs, false); !r) return r.error();
            }
            apply(repairs);
            const scim::StoredResource& last = page->resources.back();
            job_.checkpoint(json::object{
                {"phase", "users"}, {"checked", users_.checked}, {"after", last.id}, {"repairs", repairs_}});
            if (!page->more) break;
            job_.pause_between_pages();
            request.after = scim::Cursor{std::nullopt, false, last.id, false, 0, 0};
        }
        return {};
    }

    void conclude(const mappers::DesiredUser& user, const mappers::Verdict& verdict, std::vector<Repair>& repairs) {
        users_.note(verdict.drift, user.id, verdict.attributes);
        if (auto repair = mappers::user_repair(user, verdict)) {
            repairs.push_back(std::move(*repair));
        }
    }

    // Sends one resync batch of users (or, with `groups`, of groups) and concludes each entry.
    scim::Result<void> ask(std::vector<Pending> batch, std::vector<Repair>& repairs, bool final,
                           std::vector<mappers::ResyncItem> extra_items = {}) {
        mappers::ResyncBatch b;
        b.tenant_id = tenant_;
        b.app_id = app_.id;
        b.app_name = app_.name;
        b.run_id = std::to_string(job_.run.id);
        b.number = ++batches_;
        b.final = final;
        for (const Pending& p : batch) {
            mappers::ResyncItem item;
            item.id = p.user.id;
            item.remote_id = p.user.object->remote_id;
            item.version = p.user.object->delivered_version;
            item.state = p.user.object->delivered_state ? p.user.object->delivered_state : p.user.object->state;
            b.items.push_back(std::move(item));
        }
        for (mappers::ResyncItem& item : extra_items) {
            b.items.push_back(std::move(item));
        }
        if (b.items.empty() && !final) {
            return {};
        }
        mappers::WebhookConfig config = app_.webhook;
        config.deadline = options_.deadline;
        auto answer = mappers::send_resync_batch(config, b, transport_);
        ++requests_;
        if (!answer) {
            return answer.error();
        }
        supported_ = supported_ && answer->supported;
        const std::unordered_set<std::string> missing(answer->missing.begin(), answer->missing.end());
        const std::unordered_set<std::string> stale(answer->stale.begin(), answer->stale.end());
        // What the app holds, the base of the orphan safety limit: what it was listed and does
        // not lack, and what it names extra.
        held_by_app_ += b.items.size() - std::min(b.items.size(), missing.size());
        if (final) {
            held_by_app_ += answer->extra.size();
        }
        for (Pending& p : batch) {
            mappers::Verdict v;
            v.drift = p.local;
            if (v.drift == Drift::kNone && missing.count(p.user.id) != 0) {
                v.drift = Drift::kMissing;
            } else if (v.drift == Drift::kNone && stale.count(p.user.id) != 0) {
                v.drift = Drift::kStale;
            }
            conclude(p.user, v, repairs);
        }
        if (final) {
            std::vector<const mappers::ResyncAnswer::Extra*> extras;
            for (const mappers::ResyncAnswer::Extra& e : answer->extra) {
                if (unlisted_.count(e.id) == 0) {  // else: a wanted account about to be delivered
                    extras.push_back(&e);
                }
            }
            drop_recorded(extras);
            for (const mappers::ResyncAnswer::Extra* e : extras) {
                orphans_.push_back(Orphan{e->kind, e->id, std::nullopt, true});
            }
        }
        // Groups of this batch (listed as extra items) are judged by the caller from the answer.
        last_missing_ = missing;
        last_stale_ = stale;
        return {};
    }

    // Extras the bridge has a record or a delivery of are not orphans: accounts created while the
    // walk ran (after it passed their id) reach the app before the final batch. The next run
    // judges them.
    void drop_recorded(std::vector<const mappers::ResyncAnswer::Extra*>& extras) {
        std::unordered_set<std::string> known;
        for (const ResourceKind kind : {ResourceKind::kUser, ResourceKind::kGroup}) {
            std::vector<std::string> ids;
            const auto flush = [&] {
                for (const auto& [id, rec] : store_.recorded(tenant_, app_.id, kind, ids, "")) {
                    if (rec.object || rec.in_flight) known.insert(id);
                }
                ids.clear();
            };
            for (const mappers::ResyncAnswer::Extra* e : extras) {
                if (e->kind == kind && looks_like_uuid(e->id)) {
                    ids.push_back(e->id);
                    if (ids.size() == options_.page) flush();
                }
            }
            if (!ids.empty()) flush();
        }
        std::erase_if(extras, [&](const mappers::ResyncAnswer::Extra* e) { return known.count(e->id) != 0; });
    }

    static bool looks_like_uuid(const std::string& s) {
        if (s.size() != 36) return false;
        for (std::size_t i = 0; i < s.size(); ++i) {
            const char c = s[i];
            const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
            if (dash ? c != '-' : !std::isxdigit(static_cast<unsigned char>(c))) return false;
        }
        return true;
    }

    // ---- groups ---------------------------------------------------------------------------------

    scim::Result<void> groups() {
        scim::ListRequest request;
        request.kind = ResourceKind::kGroup;
        request.registry = &registry_;
        request.count = static_cast<std::int64_t>(options_.page);
        request.cursor_mode = true;
        if (resume_ && resume_->phase == "groups") {
            groups_.checked = resume_->checked;
            request.after = scim::Cursor{std::nullopt, false, resume_->after, false, 0, 0};
        }
        for (;;) {
            if (!job_.keep_going()) return scim::Error::unavailable(kStopped);
            auto page = resources_.list(tenant_, request);
            if (!page) return page.error();
            if (page->resources.empty()) break;
            std::vector<std::string> ids;
            for (const scim::StoredResource& r : page->resources) ids.push_back(r.id);
            auto recorded = store_.recorded(tenant_, app_.id, ResourceKind::kGroup, ids, read_back_began_);
            std::vector<Repair> repairs;
            std::vector<mappers::ResyncItem> items;
            std::vector<std::pair<const scim::StoredResource*, mappers::Recorded*>> asked;
            for (const scim::StoredResource& r : page->resources) {
                mappers::Recorded& rec = recorded[r.id];
                const mappers::Desired desired =
                    mappers::desired_for(app_, ResourceKind::kGroup, r, registry_, options_.base_url);
                ++groups_.checked;
                const std::optional<std::string> remote = rec.object ? rec.object->remote_id : std::nullopt;
                std::optional<std::string> external = r.id;
                if (const json::value* e = scim::find_ci(desired.payload, "externalId"); e && e->is_string()) {
                    external = std::string(e->get_string());
                }
                const mappers::HeldResource* held = webhook_ ? nullptr : held_.groups.claim(remote, external);
                Drift drift = Drift::kNone;
                std::vector<std::string> attrs;
                const bool mapped_changed = !rec.object || rec.object->payload != desired.payload;
                const mappers::GroupDecision decision =
                    mappers::decide_group(rec.object, true, desired.in_scope, mapped_changed, false);
                // A SCIM app's group is judged even while a delivery of it is on its way: that
                // delivery sends member differences from what the app was told, so a membership
                // the app lost would never come back unless the told list is repaired first.
                if (rec.in_flight && (webhook_ || !rec.object)) {
                    drift = Drift::kInFlight;
                } else if (decision.send && !rec.in_flight) {
                    drift = Drift::kUndelivered;
                } else if (rec.object && webhook_) {
                    items.push_back(mappers::ResyncItem{ResourceKind::kGroup, r.id, remote,
                                                        rec.object->delivered_version, std::nullopt});
                    asked.emplace_back(&r, &rec);
                    continue;
                } else if (rec.object) {
                    if (held == nullptr) {
                        drift = rec.written_since ? Drift::kInFlight : Drift::kMissing;
                    } else {
                        attrs = mappers::drifted_attributes(desired.payload, held->resource);
                        if (auto told = members_differ(rec, *held)) {
                            attrs.emplace_back("members");
                            group_refresh(r, rec, desired, held, std::move(*told), attrs, repairs);
                            continue;
                        }
                        if (!attrs.empty()) {
                            group_refresh(r, rec, desired, held, std::nullopt, attrs, repairs);
                            continue;
                        }
                    }
                }
                groups_.note(drift, r.id, attrs);
                if (drift == Drift::kUndelivered || drift == Drift::kMissing) {
                    Repair repair;
                    repair.kind = drift == Drift::kMissing ? Repair::Kind::kRecreate : Repair::Kind::kDeliver;
                    repair.resource = ResourceKind::kGroup;
                    repair.id = r.id;
                    repair.version = r.version;
                    repairs.push_back(std::move(repair));
                }
            }
            if (webhook_ && !items.empty()) {
                if (auto sent = ask({}, repairs, false, std::move(items)); !sent) return sent.error();
                for (const auto& [r, rec] : asked) {
                    Drift drift = Drift::kNone;
                    if (last_missing_.count(r->id) != 0) {
                        drift = Drift::kMissing;
                    } else if (last_stale_.count(r->id) != 0) {
                        drift = Drift::kStale;
                    }
                    groups_.note(drift, r->id, {});
                    if (drift != Drift::kNone) {
                        Repair repair;
                        // The app's copy is unknown: forget it and send the group again, members and all.
                        repair.kind = Repair::Kind::kRecreate;
                        repair.resource = ResourceKind::kGroup;
                        repair.id = r->id;
                        repair.version = r->version;
                        repairs.push_back(std::move(repair));
                    }
                }
            }
            apply(repairs);
            const scim::StoredResource& last = page->resources.back();
            job_.checkpoint(json::object{{"phase", "groups"},
                                         {"checked", groups_.checked},
                                         {"after", last.id},
                                         {"users_checked", users_.checked},
                                         {"repairs", repairs_}});
            if (!page->more) break;
            job_.pause_between_pages();
            request.after = scim::Cursor{std::nullopt, false, last.id, false, 0, 0};
        }
        return {};
    }

    // The members the app really holds (as canonical ids) when they differ from what it was told.
    std::optional<std::vector<std::string>> members_differ(const mappers::Recorded& rec,
                                                           const mappers::HeldResource& held) const {
        std::unordered_set<std::string> told_remote;
        for (const std::string& m : rec.told_members) {
            const auto it = canonical_to_remote_.find(m);
            told_remote.insert(it == canonical_to_remote_.end() ? "?" + m : it->second);
        }
        const std::unordered_set<std::string> has(held.member_remote_ids.begin(), held.member_remote_ids.end());
        if (has == told_remote) {
            return std::nullopt;
        }
        std::vector<std::string> actual;
        for (const std::string& remote : held.member_remote_ids) {
            if (const auto it = remote_to_canonical_.find(remote); it != remote_to_canonical_.end()) {
                actual.push_back(it->second);
            }
        }
        return actual;
    }

    void group_refresh(const scim::StoredResource& r, const mappers::Recorded& /*rec*/, const mappers::Desired& desired,
                       const mappers::HeldResource* held, std::optional<std::vector<std::string>> told,
                       const std::vector<std::string>& attrs, std::vector<Repair>& repairs) {
        groups_.note(Drift::kStale, r.id, attrs);
        Repair repair;
        repair.kind = Repair::Kind::kRefresh;
        repair.resource = ResourceKind::kGroup;
        repair.id = r.id;
        repair.version = r.version;
        json::object held_payload;
        for (const auto& [key, value] : desired.payload) {
            if (const json::value* h = scim::find_ci(held->resource, key)) {
                held_payload[key] = *h;
            }
        }
        repair.payload = held_payload == desired.payload ? json::object() : std::move(held_payload);
        if (told) {
            repair.told_members = std::move(*told);
        } else {
            repair.payload = json::object();  // only attributes differ: the worker sends them all
        }
        repairs.push_back(std::move(repair));
    }

    // ---- objects whose canonical resource is gone -------------------------------------------

    scim::Result<void> gone() {
        std::vector<Repair> repairs;
        std::vector<mappers::ResyncItem> items;
        mappers::GonePage page;
        for (std::string after;; after = *page.next) {
            if (!job_.keep_going()) return scim::Error::unavailable(kStopped);
            page = store_.gone(tenant_, app_.id, after, options_.page);
            gone_page(page.objects, repairs, items);
            if (!page.next) break;
            job_.pause_between_pages();
        }
        if (webhook_) {
            // The final batch: the blocked accounts of deleted people, so the app does not name
            // them extra; its answer lists the extras.
            if (auto r = ask({}, repairs, true, std::move(items)); !r) return r.error();
        }
        apply(repairs);
        return {};
    }

    void gone_page(const std::vector<mappers::GoneObject>& objects, std::vector<Repair>& repairs,
                   std::vector<mappers::ResyncItem>& items) {
        for (const mappers::GoneObject& g : objects) {
            const bool user = g.kind == ResourceKind::kUser;
            Tally& tally = user ? users_ : groups_;
            const mappers::HeldResource* held =
                webhook_ ? nullptr : (user ? held_.users : held_.groups).claim(g.object.remote_id, g.id);
            if (g.in_flight) {
                tally.note(Drift::kInFlight, g.id, {});
                continue;
            }
            const bool blocked = user && g.object.state == mappers::AccountState::kBlocked &&
                                 g.object.delivered_state == mappers::AccountState::kBlocked;
            if (!blocked || (held != nullptr && held->active)) {
                // The deletion never reached the app: the worker sends it (and forgets groups).
                tally.note(Drift::kUndelivered, g.id, {});
                repairs.push_back(Repair{Repair::Kind::kDeliver, g.kind, g.id, g.object.delivered_version,
                                         std::nullopt, std::nullopt, std::nullopt});
            } else if (webhook_) {
                items.push_back(mappers::ResyncItem{g.kind, g.id, g.object.remote_id, g.object.delivered_version,
                                                    mappers::AccountState::kBlocked});
            }
        }
    }

    // ---- orphans ----------------------------------------------------------------------------

    struct Orphan {
        ResourceKind kind = ResourceKind::kUser;
        std::string id;  // the app's id (SCIM: remote id; webhook: the resource id it was sent)
        std::optional<std::string> external_id;
        bool active = true;
    };

    void handle_orphans() {
        if (resume_) {
            // What the app holds is matched against every user and group of the tenant, and a
            // resumed run walked only those after its checkpoint: the others would all look like
            // orphans (a webhook app names as extra whatever no batch of this run listed).
            orphans_report_ = json::object{
                {"skipped", "a resumed run does not judge orphans; the next full run does"}};
            return;
        }
        if (!webhook_) {
            for (const mappers::HeldResource* h : held_.users.unclaimed()) {
                orphans_.push_back(Orphan{ResourceKind::kUser, h->remote_id, h->external_id, h->active});
            }
            for (const mappers::HeldResource* h : held_.groups.unclaimed()) {
                orphans_.push_back(Orphan{ResourceKind::kGroup, h->remote_id, h->external_id, true});
            }
        }
        const std::size_t held_count =
            webhook_ ? held_by_app_ : held_.users.size() + held_.groups.size();
        const std::size_t limit = std::max(options_.orphan_floor,
                                           static_cast<std::size_t>(options_.orphan_ratio * static_cast<double>(held_count)));
        json::array samples;
        std::size_t acted = 0, failed = 0, kept = 0;
        const mappers::OrphanPolicy policy = app_.policies.orphans;
        const bool act = !job_.run.dry_run && policy != mappers::OrphanPolicy::kIgnore && orphans_.size() <= limit;
        std::vector<const Orphan*> todo;
        for (const Orphan& o : orphans_) {
            if (samples.size() < kSamples) {
                json::object s{{"type", scim::resource_type_id(o.kind)}, {"id", o.id}};
                if (o.external_id) s["externalId"] = *o.external_id;
                samples.push_back(std::move(s));
            }
            const bool group = o.kind == ResourceKind::kGroup;
            // Blocking a group means nothing; an inactive account is blocked already.
            const bool needed = policy == mappers::OrphanPolicy::kDelete || (!group && (webhook_ || o.active));
            if (act && needed) {
                todo.push_back(&o);
            } else {
                ++kept;
            }
        }
        act_on_orphans(todo, policy, acted, failed);
        kept += todo.size() - acted - failed;  // not reached: the run was stopped
        orphans_report_ = json::object{{"found", orphans_.size()},
                                       {"policy", policy == mappers::OrphanPolicy::kBlock    ? "block"
                                                  : policy == mappers::OrphanPolicy::kDelete ? "delete"
                                                                                             : "ignore"},
                                       {"acted", acted},
                                       {"failed", failed},
                                       {"left", kept},
                                       {"samples", std::move(samples)}};
        if (!job_.run.dry_run && policy != mappers::OrphanPolicy::kIgnore && orphans_.size() > limit) {
            orphans_report_["held_back"] =
                std::to_string(orphans_.size()) + " orphans exceed the safety limit of " + std::to_string(limit) +
                ": none was touched; check the app (or set policies.orphans to \"ignore\")";
        }
    }

    // Blocks or deletes the orphans, a few requests at once (options_.orphan_parallel): one by one,
    // 500 deactivations took 15 s of a resync at an app answering in 30 ms. Each sender has its
    // own connector; the threads inherit the run's lowered priority.
    void act_on_orphans(const std::vector<const Orphan*>& todo, mappers::OrphanPolicy policy, std::size_t& acted,
                        std::size_t& failed) {
        if (todo.empty()) return;
        std::atomic<std::size_t> next{0};
        std::mutex mutex;
        const auto sender = [&] {
            std::unique_ptr<mappers::Connector> connector;
            if (webhook_) {
                mappers::WebhookConfig config = app_.webhook;
                config.deadline = options_.deadline;
                connector = mappers::make_webhook_connector(std::move(config));
            } else {
                mappers::ScimTargetConfig config = app_.scim;
                config.deadline = options_.deadline;
                config.delete_users = policy == mappers::OrphanPolicy::kDelete;
                connector = mappers::make_scim_connector(std::move(config));
            }
            for (std::size_t i = next++; i < todo.size() && job_.keep_going(); i = next++) {
                const Orphan& o = *todo[i];
                const bool group = o.kind == ResourceKind::kGroup;
                mappers::OutboundEvent event;
                event.id = "orphan_" + std::to_string(job_.run.id) + "_" + o.id;
                event.type = group ? mappers::EventType::kGroupDeleted
                                   : (policy == mappers::OrphanPolicy::kDelete ? mappers::EventType::kUserDeleted
                                                                               : mappers::EventType::kUserDeactivated);
                event.tenant_id = tenant_;
                event.app_id = app_.id;
                event.app_name = app_.name;
                event.resource_id = o.id;
                event.remote_id = o.id;
                if (!group) {
                    event.state = mappers::AccountState::kBlocked;
                }
                const mappers::DeliveryResult result = connector->deliver(event, transport_);
                std::lock_guard lock(mutex);
                requests_ += static_cast<std::size_t>(std::max(1, result.requests));
                if (result.kind == mappers::DeliveryResult::Kind::kDone) {
                    ++acted;
                } else {
                    ++failed;
                    note_error("orphan " + o.id, result.detail);
                }
            }
        };
        const std::size_t n = std::clamp<std::size_t>(options_.orphan_parallel, 1, todo.size());
        std::vector<std::thread> threads;
        for (std::size_t k = 1; k < n; ++k) {
            threads.emplace_back(sender);
        }
        sender();
        for (std::thread& t : threads) {
            t.join();
        }
    }

    // ---- shared -----------------------------------------------------------------------------

    void apply(std::vector<Repair>& repairs) {
        if (repairs.empty()) return;
        if (!job_.run.dry_run) {
            store_.repair(tenant_, app_.id, repairs);
            repairs_ += repairs.size();
        }
        repairs.clear();
    }

    void note_error(const std::string& what, const std::string& detail) {
        if (errors_.size() < kSamples) {
            errors_.push_back(json::object{{"what", what}, {"detail", mappers::printable(detail)}});
        }
    }

    mappers::ReconcileStore& store_;
    scim::ResourceStore& resources_;
    mappers::HttpTransport& transport_;
    const ReconcileOptions& options_;
    JobContext& job_;
    const mappers::AppDefinition& app_;
    const scim::SchemaRegistry& registry_;
    std::string tenant_;
    bool webhook_;

    mappers::ReadBack held_;
    std::string read_back_began_;  // RFC 3339 (SCIM apps); copies written since are not judged
    std::unordered_map<std::string, std::string> remote_to_canonical_;
    std::unordered_map<std::string, std::string> canonical_to_remote_;
    Tally users_;
    Tally groups_;
    std::vector<Orphan> orphans_;
    json::object orphans_report_;
    json::array errors_;
    std::size_t repairs_ = 0;
    std::size_t requests_ = 0;
    int batches_ = 0;
    std::size_t held_by_app_ = 0;  // webhook apps: what their answers say they hold
    bool supported_ = true;
    std::unordered_set<std::string> unlisted_;  // webhook: wanted users the bridge has no record of
    std::unordered_set<std::string> last_missing_;
    std::unordered_set<std::string> last_stale_;
    std::optional<Resume> resume_ = resume_from(job_.run);
};

}  // namespace

Job make_reconcile_job(mappers::ReconcileStore& store, mappers::OutboxStore& outbox, scim::ResourceStore& resources,
                       mappers::HttpTransport& transport, TenantRegistries& registries, ReconcileOptions options) {
    return [&store, &outbox, &resources, &transport, &registries,
            options = std::move(options)](JobContext& job) -> scim::Result<json::object> {
        if (!job.run.tenant_id || !job.run.subject_id) {
            return scim::Error::bad_request("a reconcile job needs its app");
        }
        const std::string& tenant = *job.run.tenant_id;
        const auto stored = outbox.load_app(tenant, *job.run.subject_id);
        if (!stored) {
            return scim::Error::not_found("the app is gone");
        }
        if (!stored->enabled) {
            return json::object{{"app", stored->id}, {"skipped", "app disabled"}};
        }
        const auto registry = registries.get(tenant);
        auto app = mappers::decode_app(stored->definition, *registry);
        if (!app) {
            return scim::Error::invalid_value("the app's definition no longer decodes: " + app.error().detail);
        }
        app->id = stored->id;
        app->version = stored->version;
        Reconciler reconciler(store, resources, transport, options, job, *app, *registry, tenant);
        return reconciler.run();
    };
}

}  // namespace scimbridge::server
