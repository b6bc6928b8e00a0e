// CronJob schedule evaluator of the simulated cluster: spec.schedule and spec.timeZone as Kubernetes 1.31
// validates and evaluates them.
//   - Grammar and evaluation follow github.com/robfig/cron/v3 v3.0.1 (parser.go ParseStandard, spec.go
//     SpecSchedule.Next, constantdelay.go), the library kube-apiserver validates with and kube-controller-manager
//     schedules with, including its quirks: a step restarts at the range start ("5/15" = 5,20,35,50), `?` is `*` in
//     every field, day-of-week 7 is rejected, when neither day field starts with a plain `*`/`?` (or `*/1`) the day
//     matches if EITHER day-of-month or day-of-week does, `@every <Go duration>` is accepted, a skipped local time
//     (spring forward) does not fire that day and a repeated one (fall back) fires twice, and on the day of a
//     half-hour shift (Australia/Lord_Howe) runs may be passed over or land an hour off. One deliberate difference:
//     where robfig loops for ever (Pacific/Apia's skipped 2011-12-30), Next gives up with nullopt.
//   - Validation texts are those of pkg/apis/batch/validation/validation.go (validateScheduleFormat,
//     validateTimeZone) for a create: a `TZ`/`CRON_TZ` in the schedule is refused, use spec.timeZone.
//   - Missed runs follow pkg/controller/cronjob/utils.go mostRecentScheduleTime.
// Time zones: why a TZif reader of our own. Debian 12 gives C++ no IANA time zone API (libstdc++ 12 has no
// std::chrono::tzdb, Howard Hinnant's date is not packaged), and glibc localtime_r works through the process-wide TZ
// variable. So ZoneInfo reads /usr/share/zoneinfo itself (RFC 8536: the v2+ 64-bit section, and the POSIX TZ footer
// for instants after the last transition) and resolves local times exactly as Go's time package does, which is what
// the scheduling semantics depend on. An absent spec.timeZone means the controller's local zone; the simulated
// kube-controller-manager runs in a container without /etc/localtime, i.e. in UTC.
// Times are Unix seconds (metav1.Time has second precision on the wire).
// Thread-safety: CronSchedule and ZoneInfo are immutable once built; ZoneInfo::Load's cache is guarded by a mutex.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace gpuwise::sim {

// An IANA time zone with Go's time.Location semantics (zoneinfo.go lookup, tzset; time.go Date).
class ZoneInfo {
 public:
  struct Civil {
    int year = 1970;
    int month = 1;  // 1..12
    int day = 1;    // 1..31
    int hour = 0;
    int minute = 0;
    int second = 0;
    int weekday = 4;  // 0 = Sunday
  };

  // As Go's time.LoadLocation: "" and "UTC" are UTC and "Local" is the controller's zone (UTC, see above), anything
  // else is the file /usr/share/zoneinfo/<name>. Errors (InvalidArgument) carry Go's text: "unknown time zone
  // Foo/Bar", "time: invalid location name", "is a directory", "malformed time zone information". Loaded zones are
  // cached for the life of the process.
  static base::Result<std::shared_ptr<const ZoneInfo>> Load(std::string_view name);

  // Seconds east of UTC in effect at the instant.
  int OffsetAt(std::int64_t unix_s) const;
  Civil ToCivil(std::int64_t unix_s) const;
  // Go's time.Date: fields out of range roll over (month 13, day 32, hour -1, ...); a local time the zone skips or
  // repeats resolves as Go resolves it: the offset in force at the local time read as UTC, corrected once (in New
  // York, 02:30 on 2026-03-08 gives 01:30 EST and 01:30 on 2026-11-01 the first one, EDT).
  std::int64_t FromCivil(int year, int month, int day, int hour, int minute, int second) const;

 private:
  // A POSIX TZ string date rule (Jn, n or Mm.w.d) with its local time of day in seconds.
  struct Rule {
    enum class Kind { kJulian, kDayOfYear, kMonthWeekDay };
    Kind kind = Kind::kJulian;
    int day = 0;
    int week = 0;
    int month = 0;
    int time = 0;
  };
  // The TZif footer: offsets are seconds east of UTC.
  struct Posix {
    int std_offset = 0;
    bool has_dst = false;
    int dst_offset = 0;
    Rule start;
    Rule end;
  };
  static std::optional<Posix> ParsePosix(std::string_view tz);
  static int PosixOffsetAt(const Posix& p, std::int64_t unix_s);
  static base::Result<std::shared_ptr<const ZoneInfo>> Read(const std::string& name);

  std::vector<std::int64_t> when_;  // transition instants, ascending
  std::vector<int> offset_after_;   // offset from each transition on
  int first_offset_ = 0;            // offset before the first transition (Go's lookupFirstZone)
  std::optional<Posix> footer_;     // after the last transition
};

// One field error as the API server reports it in a 422 Invalid status (k8s.io/apimachinery field.Error).
struct CronFieldError {
  std::string field;   // "spec.schedule" or "spec.timeZone"
  std::string reason;  // "FieldValueInvalid" or "FieldValueRequired"
  std::string body;    // `Invalid value: "61 * * * *": end of range (61) above maximum (59): 61`, or `Required value`
  std::string ToString() const { return field + ": " + body; }
};

// validateScheduleFormat + validateTimeZone of a CronJob create, in the server's order. time_zone nullopt = the field
// is absent; "" is an error there, as upstream.
std::vector<CronFieldError> ValidateCronJobSchedule(std::string_view schedule,
                                                    std::optional<std::string_view> time_zone);

class CronSchedule {
 public:
  // time_zone "" = spec.timeZone absent (the controller's zone, UTC). Runs ValidateCronJobSchedule; on errors returns
  // InvalidArgument with the text kubectl prints after `The CronJob "x" is invalid: ` (one error, or "[e1, e2]").
  static base::Result<CronSchedule> Parse(std::string_view schedule, std::string_view time_zone);

  // The first scheduled instant strictly after unix_s, or nullopt when robfig finds none within five years (e.g.
  // "0 0 30 2 *") or unix_s is outside years 1..9999.
  std::optional<std::int64_t> Next(std::int64_t unix_s) const;

  // mostRecentScheduleTime's verdict on the missed runs since earliest (lastScheduleTime, else creationTimestamp, or
  // now - startingDeadlineSeconds if later): kFew means several, kMany more than 100; the controller then starts only
  // `time` (and records a TooManyMissedTimes warning event for kMany). Upstream reports kNone when exactly one run is
  // due.
  enum class Missed { kNone, kFew, kMany };
  struct Recent {
    std::optional<std::int64_t> time;  // the run to start now, if any
    Missed missed = Missed::kNone;
  };
  // Upstream's estimate, kept as is: it assumes the gap between the first two runs after earliest repeats, so with an
  // irregular schedule ("30 6-16/4 * * 1-5") it may find no run even though some were missed. Error
  // (FailedPrecondition, "time difference between two schedules is less than 1 second") when the next two runs cannot
  // be found.
  base::Result<Recent> MostRecent(std::int64_t earliest, std::int64_t now) const;

  const ZoneInfo& zone() const { return *zone_; }

 private:
  CronSchedule() = default;

  // robfig's bit sets: bit v is set when value v matches; bit 63 marks a field written as `*`/`?` (star) without a
  // step above 1, which switches the day rule from OR to AND.
  std::uint64_t minute_ = 0;
  std::uint64_t hour_ = 0;
  std::uint64_t dom_ = 0;
  std::uint64_t month_ = 0;
  std::uint64_t dow_ = 0;
  std::int64_t every_s_ = 0;  // > 0: "@every", a constant delay
  std::shared_ptr<const ZoneInfo> zone_;
};

}  // namespace gpuwise::sim
