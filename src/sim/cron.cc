#include "sim/cron.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <span>
#include <utility>

namespace gpuwise::sim {
namespace {

constexpr std::int64_t kSecondsPerDay = 86400;
constexpr std::uint64_t kStarBit = std::uint64_t{1} << 63;
// Next works on 0001-01-01 .. 9999-12-31 (as RFC 3339); beyond, it answers nullopt.
constexpr std::int64_t kMinUnix = -62135596800;
constexpr std::int64_t kMaxUnix = 253402300799;
// A guard Go does not have. robfig's search can loop for ever: in Pacific/Apia, which skipped 2011-12-30, adding a
// day to 12-29 00:00 gives 12-29 00:00 again (time.Date's resolution), so the controller would hang on a CronJob
// looking for a day after 12-29. We give up (nullopt) after this many steps; a real search takes a few thousand.
constexpr int kMaxSearchSteps = 1'000'000;

// ---- Go text conventions -------------------------------------------------------------------------------------

constexpr char kLowerHex[] = "0123456789abcdef";

void AppendHexByte(std::string& out, unsigned char b) {
  out += "\\x";
  out += kLowerHex[b >> 4];
  out += kLowerHex[b & 0xF];
}

// Decodes one UTF-8 rune at s[i] as Go's utf8.DecodeRuneInString: an invalid sequence is (U+FFFD, 1).
std::pair<char32_t, std::size_t> DecodeRune(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return {b0, 1};
  auto cont = [&](std::size_t k) { return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80; };
  auto bits = [&](std::size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(s[i + k]) & 0x3F); };
  constexpr std::pair<char32_t, std::size_t> kBad{0xFFFD, 1};
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (!cont(1)) return kBad;
    return {static_cast<char32_t>(((b0 & 0x1Fu) << 6) | bits(1)), 2};
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (!cont(1) || !cont(2)) return kBad;
    const char32_t r = ((b0 & 0x0Fu) << 12) | (bits(1) << 6) | bits(2);
    if (r < 0x800 || (r >= 0xD800 && r <= 0xDFFF)) return kBad;
    return {r, 3};
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return kBad;
    const char32_t r = ((b0 & 0x07u) << 18) | (bits(1) << 12) | (bits(2) << 6) | bits(3);
    if (r < 0x10000 || r > 0x10FFFF) return kBad;
    return {r, 4};
  }
  return kBad;
}

// unicode.IsPrint, exact for ASCII and Latin-1; above, the format, separator and private-use blocks a schedule might
// plausibly carry are treated as unprintable and every other code point as printable.
bool IsGoPrint(char32_t r) {
  if (r < 0x80) return r >= 0x20 && r < 0x7F;
  if (r <= 0xA0 || r == 0xAD || r == 0x1680 || (r >= 0x2000 && r <= 0x200F) || (r >= 0x2028 && r <= 0x202F) ||
      (r >= 0x205F && r <= 0x206F) || r == 0x3000 || (r >= 0xE000 && r <= 0xF8FF) || r == 0xFEFF ||
      (r >= 0xFFF9 && r <= 0xFFFB) || r == 0xFFFE || r == 0xFFFF || r >= 0xE0000) {
    return false;
  }
  return true;
}

// strconv.Quote (what %q prints), e.g. for the bad value in a field error.
std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size();) {
    const auto [r, width] = DecodeRune(s, i);
    if (r == 0xFFFD && width == 1) {
      AppendHexByte(out, static_cast<unsigned char>(s[i]));
    } else if (r == '"' || r == '\\') {
      out += '\\';
      out += static_cast<char>(r);
    } else if (IsGoPrint(r)) {
      out.append(s.substr(i, width));
    } else {
      static constexpr std::array<std::pair<char32_t, char>, 7> kShort = {
          {{'\a', 'a'}, {'\b', 'b'}, {'\f', 'f'}, {'\n', 'n'}, {'\r', 'r'}, {'\t', 't'}, {'\v', 'v'}}};
      const char32_t rune = r;  // clang 14 cannot capture a structured binding
      const auto* it = std::find_if(kShort.begin(), kShort.end(), [rune](const auto& p) { return p.first == rune; });
      if (it != kShort.end()) {
        out += '\\';
        out += it->second;
      } else if (r < 0x20 || r == 0x7F) {
        AppendHexByte(out, static_cast<unsigned char>(r));
      } else {
        const int digits = r < 0x10000 ? 4 : 8;
        out += r < 0x10000 ? "\\u" : "\\U";
        for (int k = digits - 1; k >= 0; --k) out += kLowerHex[(r >> (4 * k)) & 0xF];
      }
    }
    i += width;
  }
  return out + "\"";
}

// The time package's own quote (durations): every byte outside ASCII or below ' ' as \xNN.
std::string TimeQuote(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto b = static_cast<unsigned char>(ch);
    if (b >= 0x80 || b < 0x20) {
      AppendHexByte(out, b);
    } else {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
  }
  return out + "\"";
}

bool IsGoSpace(char32_t r) {
  switch (r) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return r >= 0x2000 && r <= 0x200A;
  }
}

// strings.Fields.
std::vector<std::string_view> GoFields(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = std::string_view::npos;
  for (std::size_t i = 0; i < s.size();) {
    const auto [r, width] = DecodeRune(s, i);
    if (IsGoSpace(r)) {
      if (start != std::string_view::npos) out.push_back(s.substr(start, i - start));
      start = std::string_view::npos;
    } else if (start == std::string_view::npos) {
      start = i;
    }
    i += width;
  }
  if (start != std::string_view::npos) out.push_back(s.substr(start));
  return out;
}

// strings.TrimSpace.
std::string_view GoTrimSpace(std::string_view s) {
  const std::vector<std::string_view> f = GoFields(s);
  if (f.empty()) return {};
  return s.substr(static_cast<std::size_t>(f.front().data() - s.data()),
                  static_cast<std::size_t>(f.back().data() + f.back().size() - f.front().data()));
}

// strings.Split (keeps empty pieces).
std::vector<std::string_view> GoSplit(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (std::size_t pos = 0;;) {
    const std::size_t next = s.find(sep, pos);
    out.push_back(s.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos));
    if (next == std::string_view::npos) return out;
    pos = next + 1;
  }
}

// syscall.Errno.Error(): glibc's text with a lower-case first letter ("is a directory").
std::string GoErrnoText(int err) {
  std::string text = std::strerror(err);
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z') text[0] = static_cast<char>(text[0] - 'A' + 'a');
  return text;
}

// ---- Calendar (proleptic Gregorian, as Go) -------------------------------------------------------------------

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::int64_t DaysFromCivil(std::int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = FloorDiv(y, 400);
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(std::int64_t z, std::int64_t& y, int& m, int& d) {
  z += 719468;
  const std::int64_t era = FloorDiv(z, 146097);
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = yoe + era * 400 + (m <= 2 ? 1 : 0);
}

bool IsLeap(std::int64_t y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

int DaysIn(int month, std::int64_t year) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeap(year) ? 29 : kDays[static_cast<std::size_t>(month - 1)];
}

int DaysBefore(int month) {
  static constexpr std::array<int, 12> kBefore = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
  return kBefore[static_cast<std::size_t>(month - 1)];
}

// ---- TZif (RFC 8536), read as Go's LoadLocationFromTZData ----------------------------------------------------

class Bytes {
 public:
  explicit Bytes(std::string_view data) : data_(data) {}
  std::string_view Read(std::size_t n) {
    if (data_.size() < n) {
      error_ = true;
      data_ = {};
      return {};
    }
    std::string_view out = data_.substr(0, n);
    data_.remove_prefix(n);
    return out;
  }
  std::uint64_t Big(std::size_t n) {
    std::uint64_t v = 0;
    for (const char c : Read(n)) v = (v << 8) | static_cast<unsigned char>(c);
    return v;
  }
  std::string_view Rest() { return std::exchange(data_, {}); }
  bool error() const { return error_; }

 private:
  std::string_view data_;
  bool error_ = false;
};

// ---- POSIX TZ strings, parsed as Go's tzset ------------------------------------------------------------------

// tzsetNum: digits in [lo, hi].
bool TzNum(std::string_view& s, int lo, int hi, int& out) {
  std::size_t i = 0;
  int num = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    num = num * 10 + (s[i] - '0');
    if (num > hi) return false;
  }
  if (i == 0 || num < lo) return false;
  s.remove_prefix(i);
  out = num;
  return true;
}

bool TzName(std::string_view& s) {
  if (s.empty()) return false;
  if (s[0] == '<') {
    const std::size_t close = s.find('>');
    if (close == std::string_view::npos) return false;
    s.remove_prefix(close + 1);
    return true;
  }
  const std::size_t stop = s.find_first_of("0123456789,-+");
  if (stop == std::string_view::npos) {
    if (s.size() < 3) return false;
    s = {};
    return true;
  }
  if (stop < 3) return false;
  s.remove_prefix(stop);
  return true;
}

// tzsetOffset: [+-]hh[:mm[:ss]], hours up to 167; seconds, with the TZ string's sign (west positive).
bool TzOffset(std::string_view& s, int& out) {
  if (s.empty()) return false;
  bool neg = false;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  int hours = 0;
  if (!TzNum(s, 0, 24 * 7, hours)) return false;
  int off = hours * 3600;
  for (const int scale : {60, 1}) {
    if (s.empty() || s[0] != ':') break;
    s.remove_prefix(1);
    int v = 0;
    if (!TzNum(s, 0, 59, v)) return false;
    off += v * scale;
  }
  out = neg ? -off : off;
  return true;
}

}  // namespace

std::optional<ZoneInfo::Posix> ZoneInfo::ParsePosix(std::string_view s) {
  Posix p;
  int off = 0;
  if (!TzName(s) || !TzOffset(s, off)) return std::nullopt;
  p.std_offset = -off;
  if (s.empty() || s[0] == ',') return p;
  if (!TzName(s)) return std::nullopt;
  if (s.empty() || s[0] == ',') {
    p.dst_offset = p.std_offset + 3600;
  } else {
    if (!TzOffset(s, off)) return std::nullopt;
    p.dst_offset = -off;
  }
  if (s.empty()) s = ",M3.2.0,M11.1.0";  // tzcode's default rules
  if (s[0] != ',' && s[0] != ';') return std::nullopt;
  s.remove_prefix(1);
  auto rule = [&s](Rule& r) {
    if (s.empty()) return false;
    if (s[0] == 'J') {
      s.remove_prefix(1);
      r.kind = Rule::Kind::kJulian;
      if (!TzNum(s, 1, 365, r.day)) return false;
    } else if (s[0] == 'M') {
      s.remove_prefix(1);
      r.kind = Rule::Kind::kMonthWeekDay;
      if (!TzNum(s, 1, 12, r.month) || s.empty() || s[0] != '.') return false;
      s.remove_prefix(1);
      if (!TzNum(s, 1, 5, r.week) || s.empty() || s[0] != '.') return false;
      s.remove_prefix(1);
      if (!TzNum(s, 0, 6, r.day)) return false;
    } else {
      r.kind = Rule::Kind::kDayOfYear;
      if (!TzNum(s, 0, 365, r.day)) return false;
    }
    r.time = 2 * 3600;
    if (s.empty() || s[0] != '/') return true;
    s.remove_prefix(1);
    return TzOffset(s, r.time);
  };
  if (!rule(p.start) || s.empty() || s[0] != ',') return std::nullopt;
  s.remove_prefix(1);
  if (!rule(p.end) || !s.empty()) return std::nullopt;
  p.has_dst = true;
  return p;
}

int ZoneInfo::PosixOffsetAt(const Posix& p, std::int64_t unix_s) {
  if (!p.has_dst) return p.std_offset;
  const std::int64_t days = FloorDiv(unix_s, kSecondsPerDay);
  std::int64_t year = 0;
  int month = 0;
  int day = 0;
  CivilFromDays(days, year, month, day);
  // As Go: the UTC year, and the seconds into it with a truncating remainder.
  const std::int64_t ysec = (days - DaysFromCivil(year, 1, 1)) * kSecondsPerDay + unix_s % kSecondsPerDay;
  auto rule_time = [year](const Rule& r, int off) -> std::int64_t {
    std::int64_t d = 0;
    switch (r.kind) {
      case Rule::Kind::kJulian:
        d = r.day - 1 + (IsLeap(year) && r.day >= 60 ? 1 : 0);
        break;
      case Rule::Kind::kDayOfYear:
        d = r.day;
        break;
      case Rule::Kind::kMonthWeekDay: {
        const int first_dow = static_cast<int>(((DaysFromCivil(year, r.month, 1) + 4) % 7 + 7) % 7);
        d = (r.day - first_dow + 7) % 7;
        for (int w = 1; w < r.week && d + 7 < DaysIn(r.month, year); ++w) d += 7;
        d += DaysBefore(r.month) + (IsLeap(year) && r.month > 2 ? 1 : 0);
        break;
      }
    }
    return d * kSecondsPerDay + r.time - off;
  };
  std::int64_t start = rule_time(p.start, p.std_offset);
  std::int64_t end = rule_time(p.end, p.dst_offset);
  int outside = p.std_offset;
  int inside = p.dst_offset;
  if (end < start) {  // southern hemisphere
    std::swap(start, end);
    std::swap(outside, inside);
  }
  return ysec >= start && ysec < end ? inside : outside;
}

base::Result<std::shared_ptr<const ZoneInfo>> ZoneInfo::Read(const std::string& name) {
  // Go reads <dir> + "/" + name with dir "/usr/share/zoneinfo/", hence the double slash in its messages.
  const std::string path = "/usr/share/zoneinfo//" + name;
  if (name.find('\0') != std::string::npos) return base::InvalidArgument(GoErrnoText(EINVAL));
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return base::InvalidArgument(err == ENOENT ? "unknown time zone " + name : GoErrnoText(err));
  }
  std::string data;
  constexpr std::size_t kMaxFileSize = 10 << 20;
  std::array<char, 4096> buf;
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return base::InvalidArgument(GoErrnoText(err));
    }
    if (n == 0) break;
    data.append(buf.data(), static_cast<std::size_t>(n));
    if (data.size() > kMaxFileSize) {
      ::close(fd);
      return base::InvalidArgument("time: file " + path + " is too large");
    }
  }
  ::close(fd);

  const auto bad = base::InvalidArgument("malformed time zone information");
  Bytes d(data);
  if (d.Read(4) != "TZif") return bad;
  const std::string_view header = d.Read(16);
  if (header.size() != 16) return bad;
  const char version = header[0];
  if (version != '\0' && version != '2' && version != '3' && version != '4') return bad;
  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt.
  std::array<std::size_t, 6> n{};
  for (auto& v : n) v = d.Big(4);
  if (d.error()) return bad;
  std::size_t time_size = 4;
  if (version != '\0') {  // skip the 32-bit block and the second header, read the 64-bit block
    d.Read(n[3] * 4 + n[3] + n[4] * 6 + n[5] + n[2] * 8 + n[1] + n[0] + 4 + 16);
    for (auto& v : n) v = d.Big(4);
    if (d.error()) return bad;
    time_size = 8;
  }
  const auto [isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt] = n;
  Bytes times(d.Read(timecnt * time_size));
  const std::string_view indices = d.Read(timecnt);
  Bytes types(d.Read(typecnt * 6));
  d.Read(charcnt);
  d.Read(leapcnt * (time_size + 4));
  d.Read(isstdcnt);
  d.Read(isutcnt);
  if (d.error() || typecnt == 0) return bad;
  const std::string_view rest = d.Rest();

  struct Type {
    int offset;
    bool dst;
  };
  std::vector<Type> type(typecnt);
  for (Type& t : type) {
    t.offset = static_cast<std::int32_t>(static_cast<std::uint32_t>(types.Big(4)));
    t.dst = types.Big(1) != 0;
    if (types.Big(1) >= charcnt) return bad;
  }
  auto zone = std::make_shared<ZoneInfo>();
  std::vector<std::size_t> tx_type;
  for (std::size_t i = 0; i < timecnt; ++i) {
    const std::uint64_t raw = times.Big(time_size);
    const std::int64_t when =
        time_size == 8 ? static_cast<std::int64_t>(raw) : static_cast<std::int32_t>(static_cast<std::uint32_t>(raw));
    const auto idx = static_cast<unsigned char>(indices[i]);
    if (idx >= typecnt) return bad;
    zone->when_.push_back(when);
    zone->offset_after_.push_back(type[idx].offset);
    tx_type.push_back(idx);
  }
  if (zone->when_.empty()) {  // a fixed zone ("Etc/GMT+5"): Go's fake transition at the dawn of time
    zone->when_.push_back(std::numeric_limits<std::int64_t>::min());
    zone->offset_after_.push_back(type[0].offset);
    tx_type.push_back(0);
  }
  // Go's lookupFirstZone: type 0 unless transitions use it; then the last standard type before the first
  // transition's DST type, else the first standard type, else type 0.
  std::size_t first = 0;
  if (std::find(tx_type.begin(), tx_type.end(), 0) != tx_type.end()) {
    bool found = false;
    if (type[tx_type[0]].dst) {
      for (std::size_t zi = tx_type[0]; zi-- > 0;) {
        if (!type[zi].dst) {
          first = zi;
          found = true;
          break;
        }
      }
    }
    for (std::size_t zi = 0; !found && zi < type.size(); ++zi) {
      if (!type[zi].dst) {
        first = zi;
        found = true;
      }
    }
  }
  zone->first_offset_ = type[first].offset;
  if (rest.size() > 2 && rest.front() == '\n' && rest.back() == '\n') {
    zone->footer_ = ParsePosix(rest.substr(1, rest.size() - 2));
  }
  return std::shared_ptr<const ZoneInfo>(std::move(zone));
}

base::Result<std::shared_ptr<const ZoneInfo>> ZoneInfo::Load(std::string_view name) {
  if (name.empty() || name == "UTC" || name == "Local") {
    static const auto* const kUtc = new std::shared_ptr<const ZoneInfo>(std::make_shared<ZoneInfo>());
    return *kUtc;
  }
  if (name.find("..") != std::string_view::npos || name[0] == '/' || name[0] == '\\') {
    return base::InvalidArgument("time: invalid location name");
  }
  static std::mutex mu;
  static auto* const cache = new std::map<std::string, std::shared_ptr<const ZoneInfo>, std::less<>>();
  const std::lock_guard<std::mutex> lock(mu);
  if (const auto it = cache->find(name); it != cache->end()) return it->second;
  ASSIGN_OR_RETURN(std::shared_ptr<const ZoneInfo> zone, Read(std::string(name)));
  cache->emplace(std::string(name), zone);
  return zone;
}

int ZoneInfo::OffsetAt(std::int64_t unix_s) const {
  if (when_.empty()) return 0;
  if (unix_s < when_.front()) return first_offset_;
  const auto idx = static_cast<std::size_t>(std::upper_bound(when_.begin(), when_.end(), unix_s) - when_.begin()) - 1;
  if (idx + 1 == when_.size() && footer_) return PosixOffsetAt(*footer_, unix_s);
  return offset_after_[idx];
}

ZoneInfo::Civil ZoneInfo::ToCivil(std::int64_t unix_s) const {
  const std::int64_t local = unix_s + OffsetAt(unix_s);
  const std::int64_t days = FloorDiv(local, kSecondsPerDay);
  const std::int64_t secs = local - days * kSecondsPerDay;
  Civil c;
  std::int64_t year = 0;
  CivilFromDays(days, year, c.month, c.day);
  c.year = static_cast<int>(year);
  c.hour = static_cast<int>(secs / 3600);
  c.minute = static_cast<int>(secs / 60 % 60);
  c.second = static_cast<int>(secs % 60);
  c.weekday = static_cast<int>(((days + 4) % 7 + 7) % 7);
  return c;
}

std::int64_t ZoneInfo::FromCivil(int year, int month, int day, int hour, int minute, int second) const {
  const std::int64_t m0 = std::int64_t{month} - 1;
  const std::int64_t y = year + FloorDiv(m0, 12);
  const int m = static_cast<int>(m0 - FloorDiv(m0, 12) * 12) + 1;
  const std::int64_t local = (DaysFromCivil(y, m, 1) + day - 1) * kSecondsPerDay + std::int64_t{hour} * 3600 +
                             std::int64_t{minute} * 60 + second;
  // time.Date: look the offset up at the local time read as UTC, then again at the instant that offset gives, and
  // use the second answer. Go keeps the first when the instant lies in the same zone period; then both agree.
  const int guess = OffsetAt(local);
  if (guess == 0) return local;
  return local - OffsetAt(local - guess);
}

// ---- Schedule grammar (robfig/cron v3 parser.go) ---------------------------------------------------------------

namespace {

struct Bounds {
  std::uint64_t min;
  std::uint64_t max;
  std::span<const std::string_view> names;  // names[i] is value min + i
};

constexpr std::array<std::string_view, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kDayNames = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
constexpr Bounds kMinutes{0, 59, {}};
constexpr Bounds kHours{0, 23, {}};
constexpr Bounds kDom{1, 31, {}};
constexpr Bounds kMonths{1, 12, kMonthNames};
constexpr Bounds kDow{0, 6, kDayNames};

std::uint64_t AllBits(const Bounds& b) { return ((~std::uint64_t{0} >> (63 - b.max)) & (~std::uint64_t{0} << b.min)); }

// strconv.Atoi's value or its error text.
std::optional<std::int64_t> GoAtoi(std::string_view s, std::string& error) {
  const std::string prefix = "strconv.Atoi: parsing " + GoQuote(s) + ": ";
  std::string_view digits = s;
  bool neg = false;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
    neg = digits[0] == '-';
    digits.remove_prefix(1);
  }
  if (digits.empty()) {
    error = prefix + "invalid syntax";
    return std::nullopt;
  }
  // ParseUint: a syntax error for any non-digit, a range error as soon as the value overflows (before later bytes are
  // looked at); then ParseInt's signed range.
  constexpr std::uint64_t kCutoff = std::numeric_limits<std::uint64_t>::max() / 10 + 1;
  std::uint64_t n = 0;
  bool overflow = false;
  for (const char c : digits) {
    if (c < '0' || c > '9') {
      error = prefix + "invalid syntax";
      return std::nullopt;
    }
    if (n >= kCutoff) {
      overflow = true;
      break;
    }
    const std::uint64_t next = n * 10 + static_cast<std::uint64_t>(c - '0');
    if (next < n * 10) {
      overflow = true;
      break;
    }
    n = next;
  }
  constexpr std::uint64_t kCut = std::uint64_t{1} << 63;
  if (overflow || (!neg && n >= kCut) || (neg && n > kCut)) {
    error = prefix + "value out of range";
    return std::nullopt;
  }
  return neg ? static_cast<std::int64_t>(0 - n) : static_cast<std::int64_t>(n);
}

std::optional<std::uint64_t> MustParseInt(std::string_view expr, std::string& error) {
  std::string atoi_error;
  const std::optional<std::int64_t> num = GoAtoi(expr, atoi_error);
  if (!num) {
    error = "failed to parse int from " + std::string(expr) + ": " + atoi_error;
    return std::nullopt;
  }
  if (*num < 0) {
    error = "negative number (" + std::to_string(*num) + ") not allowed: " + std::string(expr);
    return std::nullopt;
  }
  return static_cast<std::uint64_t>(*num);
}

std::optional<std::uint64_t> ParseIntOrName(std::string_view expr, const Bounds& b, std::string& error) {
  std::string lower(expr);
  for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  for (std::size_t i = 0; i < b.names.size(); ++i) {
    if (b.names[i] == lower) return b.min + i;
  }
  return MustParseInt(expr, error);
}

// getRange: number | number "-" number [ "/" number ], or `*`/`?` [ "/" number ].
std::optional<std::uint64_t> GetRange(std::string_view expr, const Bounds& b, std::string& error) {
  const std::vector<std::string_view> range_and_step = GoSplit(expr, '/');
  const std::vector<std::string_view> low_and_high = GoSplit(range_and_step[0], '-');
  const bool single = low_and_high.size() == 1;
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  std::uint64_t extra = 0;
  if (low_and_high[0] == "*" || low_and_high[0] == "?") {
    start = b.min;
    end = b.max;
    extra = kStarBit;
  } else {
    const auto low = ParseIntOrName(low_and_high[0], b, error);
    if (!low) return std::nullopt;
    start = end = *low;
    if (low_and_high.size() == 2) {
      const auto high = ParseIntOrName(low_and_high[1], b, error);
      if (!high) return std::nullopt;
      end = *high;
    } else if (low_and_high.size() > 2) {
      error = "too many hyphens: " + std::string(expr);
      return std::nullopt;
    }
  }
  std::uint64_t step = 1;
  if (range_and_step.size() == 2) {
    const auto parsed = MustParseInt(range_and_step[1], error);
    if (!parsed) return std::nullopt;
    step = *parsed;
    if (single) end = b.max;  // "N/step" means "N-max/step"
    if (step > 1) extra = 0;
  } else if (range_and_step.size() > 2) {
    error = "too many slashes: " + std::string(expr);
    return std::nullopt;
  }
  const std::string e(expr);
  if (start < b.min) {
    error = "beginning of range (" + std::to_string(start) + ") below minimum (" + std::to_string(b.min) + "): " + e;
  } else if (end > b.max) {
    error = "end of range (" + std::to_string(end) + ") above maximum (" + std::to_string(b.max) + "): " + e;
  } else if (start > end) {
    error =
        "beginning of range (" + std::to_string(start) + ") beyond end of range (" + std::to_string(end) + "): " + e;
  } else if (step == 0) {
    error = "step of range should be a positive number: " + e;
  }
  if (!error.empty()) return std::nullopt;
  std::uint64_t bits = 0;
  for (std::uint64_t i = start; i <= end; i += step) bits |= std::uint64_t{1} << i;
  return bits | extra;
}

// getField: a comma-separated list of ranges; empty pieces are skipped (so "," matches nothing).
std::optional<std::uint64_t> GetField(std::string_view field, const Bounds& b, std::string& error) {
  std::uint64_t bits = 0;
  for (const std::string_view piece : GoSplit(field, ',')) {
    if (piece.empty()) continue;
    const auto r = GetRange(piece, b, error);
    if (!r) return std::nullopt;
    bits |= *r;
  }
  return bits;
}

// time.ParseDuration, in nanoseconds.
std::optional<std::int64_t> GoParseDuration(std::string_view orig, std::string& error) {
  const std::string invalid = "time: invalid duration " + TimeQuote(orig);
  std::string_view s = orig;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) {
    error = invalid;
    return std::nullopt;
  }
  constexpr std::uint64_t kLimit = std::uint64_t{1} << 63;
  static constexpr std::array<std::pair<std::string_view, std::uint64_t>, 8> kUnits = {{{"ns", 1},
                                                                                        {"us", 1'000},
                                                                                        {"\xC2\xB5s", 1'000},
                                                                                        {"\xCE\xBCs", 1'000},
                                                                                        {"ms", 1'000'000},
                                                                                        {"s", 1'000'000'000},
                                                                                        {"m", 60'000'000'000},
                                                                                        {"h", 3'600'000'000'000}}};
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  std::uint64_t d = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || is_digit(s[0]))) {
      error = invalid;
      return std::nullopt;
    }
    std::uint64_t v = 0;
    std::size_t i = 0;
    for (; i < s.size() && is_digit(s[i]); ++i) {
      if (v > kLimit / 10) {
        error = invalid;
        return std::nullopt;
      }
      v = v * 10 + static_cast<std::uint64_t>(s[i] - '0');
      if (v > kLimit) {
        error = invalid;
        return std::nullopt;
      }
    }
    const bool pre = i > 0;
    s.remove_prefix(i);
    bool post = false;
    std::uint64_t f = 0;
    double scale = 1;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      bool overflow = false;
      for (i = 0; i < s.size() && is_digit(s[i]); ++i) {
        if (overflow) continue;
        if (f > (kLimit - 1) / 10) {
          overflow = true;
          continue;
        }
        const std::uint64_t y = f * 10 + static_cast<std::uint64_t>(s[i] - '0');
        if (y > kLimit) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      post = i > 0;
      s.remove_prefix(i);
    }
    if (!pre && !post) {
      error = invalid;
      return std::nullopt;
    }
    i = 0;
    while (i < s.size() && s[i] != '.' && !is_digit(s[i])) ++i;
    if (i == 0) {
      error = "time: missing unit in duration " + TimeQuote(orig);
      return std::nullopt;
    }
    const std::string_view u = s.substr(0, i);
    s.remove_prefix(i);
    const auto* unit = std::find_if(kUnits.begin(), kUnits.end(), [&](const auto& p) { return p.first == u; });
    if (unit == kUnits.end()) {
      error = "time: unknown unit " + TimeQuote(u) + " in duration " + TimeQuote(orig);
      return std::nullopt;
    }
    if (v > kLimit / unit->second) {
      error = invalid;
      return std::nullopt;
    }
    v *= unit->second;
    if (f > 0) {
      v += static_cast<std::uint64_t>(static_cast<double>(f) * (static_cast<double>(unit->second) / scale));
      if (v > kLimit) {
        error = invalid;
        return std::nullopt;
      }
    }
    d += v;
    if (d > kLimit) {
      error = invalid;
      return std::nullopt;
    }
  }
  if (neg) return static_cast<std::int64_t>(0 - d);
  if (d > kLimit - 1) {
    error = invalid;
    return std::nullopt;
  }
  return static_cast<std::int64_t>(d);
}

struct Spec {
  std::uint64_t minute = 0;
  std::uint64_t hour = 0;
  std::uint64_t dom = 0;
  std::uint64_t month = 0;
  std::uint64_t dow = 0;
  std::int64_t every_s = 0;
};

// cron.ParseStandard: the spec, or robfig's error text in `error`. A "TZ=zone" prefix without a following space makes
// robfig index out of range (a panic the API server turns into a 500); here it yields no parse error, leaving the
// caller's TZ rejection as the only one.
std::optional<Spec> ParseStandard(std::string_view spec, std::string& error) {
  if (spec.empty()) {
    error = "empty spec string";
    return std::nullopt;
  }
  if (spec.substr(0, 3) == "TZ=" || spec.substr(0, 8) == "CRON_TZ=") {
    const std::size_t space = spec.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    const std::size_t eq = spec.find('=');
    const std::string_view zone = spec.substr(eq + 1, space - eq - 1);
    const auto loaded = ZoneInfo::Load(zone);
    if (!loaded.ok()) {
      error = "provided bad location " + std::string(zone) + ": " + loaded.status().message();
      return std::nullopt;
    }
    spec = GoTrimSpace(spec.substr(space));
  }
  Spec out;
  if (!spec.empty() && spec[0] == '@') {
    static constexpr std::array<std::pair<std::string_view, int>, 7> kDescriptors = {{{"@yearly", 0},
                                                                                      {"@annually", 0},
                                                                                      {"@monthly", 1},
                                                                                      {"@weekly", 2},
                                                                                      {"@daily", 3},
                                                                                      {"@midnight", 3},
                                                                                      {"@hourly", 4}}};
    const auto* d =
        std::find_if(kDescriptors.begin(), kDescriptors.end(), [&](const auto& p) { return p.first == spec; });
    if (d != kDescriptors.end()) {
      const int kind = d->second;
      out.minute = 1;
      out.hour = kind == 4 ? AllBits(kHours) | kStarBit : 1;
      out.dom = kind <= 1 ? std::uint64_t{1} << 1 : AllBits(kDom) | kStarBit;
      out.month = kind == 0 ? std::uint64_t{1} << 1 : AllBits(kMonths) | kStarBit;
      out.dow = kind == 2 ? 1 : AllBits(kDow) | kStarBit;
      return out;
    }
    constexpr std::string_view kEvery = "@every ";
    if (spec.substr(0, kEvery.size()) == kEvery) {
      std::string duration_error;
      const auto ns = GoParseDuration(spec.substr(kEvery.size()), duration_error);
      if (!ns) {
        error = "failed to parse duration " + std::string(spec) + ": " + duration_error;
        return std::nullopt;
      }
      // cron.Every: at least a second, whole seconds.
      out.every_s = std::max<std::int64_t>(1, *ns / 1'000'000'000);
      return out;
    }
    error = "unrecognized descriptor: " + std::string(spec);
    return std::nullopt;
  }
  const std::vector<std::string_view> fields = GoFields(spec);
  if (fields.size() != 5) {
    error = "expected exactly 5 fields, found " + std::to_string(fields.size()) + ": [";
    for (std::size_t i = 0; i < fields.size(); ++i) error += (i > 0 ? " " : "") + std::string(fields[i]);
    error += "]";
    return std::nullopt;
  }
  const std::array<std::pair<std::uint64_t*, const Bounds*>, 5> slots = {
      {{&out.minute, &kMinutes}, {&out.hour, &kHours}, {&out.dom, &kDom}, {&out.month, &kMonths}, {&out.dow, &kDow}}};
  for (std::size_t i = 0; i < slots.size(); ++i) {
    const auto bits = GetField(fields[i], *slots[i].second, error);
    if (!bits) return std::nullopt;
    *slots[i].first = *bits;
  }
  return out;
}

// validateTimeZone's name check: each '/'-separated part matches ^[A-Za-z.\-_0-9+]{1,14}$, is not "." or ".." and
// does not start with '-'.
bool TimeZoneNameLooksValid(std::string_view tz) {
  for (const std::string_view part : GoSplit(tz, '/')) {
    if (part.empty() || part.size() > 14 || part == "." || part == ".." || part[0] == '-') return false;
    for (const char c : part) {
      const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '-' || c == '_' || c == '+';
      if (!ok) return false;
    }
  }
  return true;
}

bool EqualFoldAscii(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

CronFieldError Invalid(std::string field, std::string_view value, const std::string& detail) {
  return {std::move(field), "FieldValueInvalid", "Invalid value: " + GoQuote(value) + ": " + detail};
}

bool Has(std::uint64_t bits, int v) { return ((bits >> v) & 1) != 0; }

// The values a field can match, star bit aside.
std::uint64_t Values(std::uint64_t bits) { return bits & ~kStarBit; }

}  // namespace

std::vector<CronFieldError> ValidateCronJobSchedule(std::string_view schedule,
                                                    std::optional<std::string_view> time_zone) {
  std::vector<CronFieldError> errors;
  if (schedule.empty()) {
    errors.push_back({"spec.schedule", "FieldValueRequired", "Required value"});
  } else {
    std::string error;
    if (!ParseStandard(schedule, error) && !error.empty()) errors.push_back(Invalid("spec.schedule", schedule, error));
    if (schedule.find("TZ") != std::string_view::npos) {
      errors.push_back(
          Invalid("spec.schedule", schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"));
    }
  }
  if (time_zone) {
    const std::string_view tz = *time_zone;
    if (tz.empty()) {
      errors.push_back(Invalid("spec.timeZone", tz, "timeZone must be nil or non-empty string"));
    } else if (!TimeZoneNameLooksValid(tz)) {
      errors.push_back(Invalid("spec.timeZone", tz, "unknown time zone " + std::string(tz)));
    } else {
      if (EqualFoldAscii(tz, "Local")) {
        errors.push_back(
            Invalid("spec.timeZone", tz,
                    "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"));
      }
      if (const auto loaded = ZoneInfo::Load(tz); !loaded.ok()) {
        errors.push_back(Invalid("spec.timeZone", tz, loaded.status().message()));
      }
    }
  }
  return errors;
}

base::Result<CronSchedule> CronSchedule::Parse(std::string_view schedule, std::string_view time_zone) {
  const std::vector<CronFieldError> errors =
      ValidateCronJobSchedule(schedule, time_zone.empty() ? std::nullopt : std::optional(time_zone));
  if (!errors.empty()) {
    // field.ErrorList.ToAggregate().Error(): duplicates dropped, several in brackets.
    std::vector<std::string> seen;
    for (const CronFieldError& e : errors) {
      if (std::find(seen.begin(), seen.end(), e.ToString()) == seen.end()) seen.push_back(e.ToString());
    }
    std::string message = seen.size() > 1 ? "[" : "";
    for (std::size_t i = 0; i < seen.size(); ++i) message += (i > 0 ? ", " : "") + seen[i];
    if (seen.size() > 1) message += "]";
    return base::InvalidArgument(std::move(message));
  }
  std::string error;
  const std::optional<Spec> spec = ParseStandard(schedule, error);
  CHECK(spec.has_value()) << "validated schedule failed to parse: " << error;
  auto zone = ZoneInfo::Load(time_zone);
  CHECK(zone.ok()) << zone.status().ToString();
  CronSchedule s;
  s.minute_ = spec->minute;
  s.hour_ = spec->hour;
  s.dom_ = spec->dom;
  s.month_ = spec->month;
  s.dow_ = spec->dow;
  s.every_s_ = spec->every_s;
  s.zone_ = std::move(zone).value();
  return s;
}

std::optional<std::int64_t> CronSchedule::Next(std::int64_t unix_s) const {
  if (unix_s < kMinUnix || unix_s >= kMaxUnix) return std::nullopt;
  if (every_s_ > 0) {
    if (unix_s > kMaxUnix - every_s_) return std::nullopt;
    return unix_s + every_s_;
  }
  // No instant can ever match an empty field; robfig would search its five years and give up, with the same answer.
  const bool day_and = (dom_ & kStarBit) != 0 || (dow_ & kStarBit) != 0;
  const bool no_day = day_and ? (Values(dom_) == 0 || Values(dow_) == 0) : (Values(dom_) | Values(dow_)) == 0;
  if (Values(minute_) == 0 || Values(hour_) == 0 || Values(month_) == 0 || no_day) return std::nullopt;
  auto day_matches = [&](const ZoneInfo::Civil& c) {
    const bool dom = Has(dom_, c.day);
    const bool dow = Has(dow_, c.weekday);
    return day_and ? dom && dow : dom || dow;
  };

  // SpecSchedule.Next, field by field from month down to second; `added` says whether the lower fields were reset,
  // and a field that wraps around sends the search back to the month (robfig's "goto WRAP").
  const ZoneInfo& z = *zone_;
  std::int64_t t = unix_s + 1;
  ZoneInfo::Civil c = z.ToCivil(t);
  const int year_limit = c.year + 5;
  bool added = false;
  auto set = [&](std::int64_t v) {
    t = v;
    c = z.ToCivil(t);
  };
  int steps = 0;
  auto step = [&steps] { return ++steps <= kMaxSearchSteps; };
  while (step()) {
    if (c.year > year_limit) return std::nullopt;
    bool wrapped = false;
    while (!wrapped && !Has(month_, c.month) && step()) {
      if (!added) {
        added = true;
        set(z.FromCivil(c.year, c.month, 1, 0, 0, 0));
      }
      set(z.FromCivil(c.year, c.month + 1, c.day, c.hour, c.minute, c.second));
      wrapped = c.month == 1;
    }
    // Midnight may not exist (a DST change at 00:00): a step of a day can land at 23:00 or 01:00, pulled back to
    // the day's first hour.
    while (!wrapped && !day_matches(c) && step()) {
      if (!added) {
        added = true;
        set(z.FromCivil(c.year, c.month, c.day, 0, 0, 0));
      }
      set(z.FromCivil(c.year, c.month, c.day + 1, c.hour, c.minute, c.second));
      if (c.hour != 0) set(t + std::int64_t{c.hour > 12 ? 24 - c.hour : -c.hour} * 3600);
      wrapped = c.day == 1;
    }
    while (!wrapped && !Has(hour_, c.hour) && step()) {
      if (!added) {
        added = true;
        set(z.FromCivil(c.year, c.month, c.day, c.hour, 0, 0));
      }
      set(t + 3600);
      wrapped = c.hour == 0;
    }
    while (!wrapped && !Has(minute_, c.minute) && step()) {
      if (!added) {
        added = true;
        set(FloorDiv(t, 60) * 60);  // time.Truncate works on the absolute time, not the local clock
      }
      set(t + 60);
      wrapped = c.minute == 0;
    }
    while (!wrapped && c.second != 0 && step()) {
      added = true;
      set(t + 1);
      wrapped = c.second == 0;
    }
    if (steps > kMaxSearchSteps) break;
    if (!wrapped) return t;
  }
  return std::nullopt;
}

base::Result<CronSchedule::Recent> CronSchedule::MostRecent(std::int64_t earliest, std::int64_t now) const {
  const std::optional<std::int64_t> t1 = Next(earliest);
  if (t1 && now < *t1) return Recent{};
  const std::optional<std::int64_t> t2 = t1 ? Next(*t1) : std::nullopt;
  if (t2 && now < *t2) return Recent{t1, Missed::kNone};
  if (!t1 || !t2) return base::FailedPrecondition("time difference between two schedules is less than 1 second");
  // Upstream's approximation: assume the first gap repeats, jump to about two gaps before now and walk from there.
  const std::int64_t between = *t2 - *t1;
  const std::int64_t missed = (now - *t1) / between + 1;
  Recent out;
  out.missed = missed > 100 ? Missed::kMany : Missed::kFew;
  for (std::optional<std::int64_t> t = Next(*t1 + (missed - 2) * between); t && *t <= now; t = Next(*t)) out.time = t;
  return out;
}

}  // namespace gpuwise::sim
