#include "net/http/static_files.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "common/async.h"
#include "common/strings.h"
#include "net/http/mime.h"

namespace wasimoff::http {

namespace {

namespace fs = std::filesystem;

constexpr std::array<const char*, 7> kDays{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<const char*, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// IMF-fixdate (RFC 9110 §5.6.7), e.g. "Sun, 06 Nov 1994 08:49:37 GMT". Locale-independent.
std::string format_http_date(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

int month_index(const char* name) {
  for (int i = 0; i < 12; ++i)
    if (iequals(name, kMonths[i])) return i;
  return -1;
}

// Parses the three HTTP-date forms a recipient must accept (RFC 9110 §5.6.7): IMF-fixdate,
// obsolete RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime ("Sun Nov  6 08:49:37 1994").
// The weekday is not cross-checked. nullopt when the value is none of them.
std::optional<std::time_t> parse_http_date(std::string_view value) {
  std::string s(trim(value));
  if (s.size() > 64) return std::nullopt;
  char wday[16] = {}, mon[4] = {};
  int day = 0, year = 0, hour = 0, min = 0, sec = 0, used = -1;
  bool ok = false;
  if (std::sscanf(s.c_str(), "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d GMT%n", wday, &day, mon,
                  &year, &hour, &min, &sec, &used) == 7 &&
      used == static_cast<int>(s.size())) {
    ok = true;
  } else if (used = -1; std::sscanf(s.c_str(), "%15[A-Za-z], %2d-%3[A-Za-z]-%2d %2d:%2d:%2d GMT%n",
                                    wday, &day, mon, &year, &hour, &min, &sec, &used) == 7 &&
                        used == static_cast<int>(s.size())) {
    // Two-digit year: RFC 9110 says a year more than 50 years in the future is in the past.
    year += year < 70 ? 2000 : 1900;
    ok = true;
  } else if (used = -1; std::sscanf(s.c_str(), "%3[A-Za-z] %3[A-Za-z] %2d %2d:%2d:%2d %4d%n", wday,
                                    mon, &day, &hour, &min, &sec, &year, &used) == 7 &&
                        used == static_cast<int>(s.size())) {
    ok = true;
  }
  if (!ok) return std::nullopt;
  int m = month_index(mon);
  if (m < 0 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60 || year < 1970)
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = m;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  std::time_t t = timegm(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return t;
}

void add_isolation_headers(Response& r) {
  r.headers.set("Cross-Origin-Opener-Policy", "same-origin");
  r.headers.set("Cross-Origin-Embedder-Policy", "require-corp");
  r.headers.set("Cross-Origin-Resource-Policy", "same-origin");
  r.headers.set("X-Content-Type-Options", "nosniff");
}

Response static_response(Response r) {
  add_isolation_headers(r);
  return r;
}

bool is_api_path(std::string_view path) {
  return path == "/api" || path.starts_with("/api/");
}

// Collapses runs of '/' so a redirect target never starts with "//" (protocol-relative URL).
std::string collapse_slashes(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (char c : path)
    if (c != '/' || out.empty() || out.back() != '/') out.push_back(c);
  return out;
}

// What the file system says about a request path.
struct Lookup {
  enum class Kind { kNotFound, kRedirect, kFile } kind = Kind::kNotFound;
  std::string real_path;  // kFile: the resolved path that is streamed
  std::string name;       // kFile: the served file name (decides MIME and caching)
  std::uint64_t size = 0;
  std::time_t mtime = 0;
};

// `child` is a canonical path; true when it is `root` or below it and no component below the
// root starts with '.' (a symlink inside the tree must not expose a dot-file either).
bool inside_root(const fs::path& root, const fs::path& child) {
  auto r = root.begin();
  auto c = child.begin();
  for (; r != root.end(); ++r, ++c) {
    if (r->empty()) continue;  // a trailing empty element ("/srv/www/") matches anything
    if (c == child.end() || *r != *c) return false;
  }
  for (; c != child.end(); ++c) {
    const auto& part = c->native();
    if (!part.empty() && part.front() == '.') return false;
  }
  return true;
}

// Resolves `target` (canonical, checked) and fills `out` if it is a readable regular file.
bool regular_file(const fs::path& root, const fs::path& target, Lookup& out) {
  std::error_code ec;
  fs::path real = fs::canonical(target, ec);
  if (ec || !inside_root(root, real)) return false;
  struct stat st {};
  if (::stat(real.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  if (::access(real.c_str(), R_OK) != 0) {
    spdlog::debug("static files: {} is not readable by the broker", real.native());
    return false;
  }
  out.kind = Lookup::Kind::kFile;
  out.real_path = real.native();
  out.size = static_cast<std::uint64_t>(st.st_size);
  out.mtime = st.st_mtime;
  return true;
}

// Blocking: realpath/stat/access. Pure function of its arguments, safe on any thread.
Lookup lookup(const fs::path& root_option, const std::vector<std::string>& segments,
              bool trailing_slash) {
  Lookup out;
  if (root_option.empty()) return out;
  std::error_code ec;
  fs::path root = fs::canonical(root_option, ec);
  if (ec || !fs::is_directory(root, ec)) return out;

  fs::path candidate = root;
  for (const auto& s : segments) candidate /= s;
  fs::path real = fs::canonical(candidate, ec);
  if (ec || !inside_root(root, real)) return out;

  if (fs::is_directory(real, ec)) {
    if (!trailing_slash && !segments.empty()) {
      out.kind = Lookup::Kind::kRedirect;
      return out;
    }
    if (regular_file(root, real / "index.html", out)) out.name = "index.html";
    return out;
  }
  if (trailing_slash) return out;  // "/file.js/" names no directory
  if (regular_file(root, real, out)) out.name = segments.empty() ? "" : segments.back();
  return out;
}

awaitable<Response> serve(std::shared_ptr<const StaticFilesOptions> options, Request& request) {
  const std::string raw_path = request.path;
  auto decoded = percent_decode(raw_path);
  if (is_api_path(raw_path) || (decoded && is_api_path(*decoded)))
    co_return Response::text(404, "not found");

  if (request.method != "GET" && request.method != "HEAD") {
    Response r = Response::text(405, "method not allowed");
    r.headers.set("Allow", "GET, HEAD");
    co_return static_response(std::move(r));
  }

  if (!decoded) co_return static_response(Response::text(400, "invalid percent-encoding in path"));
  const std::string& path = *decoded;
  if (path.empty() || path.front() != '/')
    co_return static_response(Response::text(400, "path must start with '/'"));
  if (path.find('\0') != std::string::npos)
    co_return static_response(Response::text(400, "path must not contain NUL"));
  if (path.find('\\') != std::string::npos)
    co_return static_response(Response::text(400, "path must not contain a backslash"));

  std::vector<std::string> segments;
  bool hidden = false;
  for (auto part : split(std::string_view(path).substr(1), '/')) {
    if (part == "..") co_return static_response(Response::text(400, "path must not contain '..'"));
    if (part.empty()) continue;
    if (part.front() == '.') hidden = true;  // checked after all segments: '..' anywhere → 400
    segments.emplace_back(part);
  }
  if (hidden) co_return static_response(Response::text(404, "not found"));
  const bool trailing_slash = path.back() == '/';

  Lookup found;
  if (options->pool) {
    // The closure captures only references into this (suspended) frame. GCC 12 double-destroys
    // closures with non-trivial captures that are created inside a co_await expression (also
    // inside offload() itself), so nothing here may own heap memory.
    const fs::path& root = options->root;
    auto job = [&root, &segments, trailing_slash] {
      return lookup(root, segments, trailing_slash);
    };
    found = co_await offload(*options->pool, job);
  } else {
    found = lookup(options->root, segments, trailing_slash);
  }

  switch (found.kind) {
    case Lookup::Kind::kNotFound:
      co_return static_response(Response::text(404, "not found"));
    case Lookup::Kind::kRedirect: {
      Response r = Response::text(301, "moved permanently");
      std::string location = collapse_slashes(raw_path) + "/";
      if (!request.query.empty()) location += "?" + request.query;
      r.headers.set("Location", std::move(location));
      co_return static_response(std::move(r));
    }
    case Lookup::Kind::kFile:
      break;
  }

  Response r;
  const std::string last_modified = format_http_date(found.mtime);
  r.headers.set("Last-Modified", last_modified);
  if (found.name == "index.html") r.headers.set("Cache-Control", "no-cache");

  if (!request.headers.has("If-None-Match")) {
    if (auto ims = request.header("If-Modified-Since")) {
      auto since = parse_http_date(*ims);
      if (since && found.mtime <= *since) {
        r.status = 304;
        co_return static_response(std::move(r));
      }
    }
  }

  r.status = 200;
  r.headers.set("Content-Type", std::string(mime_type_for(found.name)));
  r.body = FileRange{std::move(found.real_path), 0, found.size};
  co_return static_response(std::move(r));
}

}  // namespace

Handler make_static_files_handler(StaticFilesOptions options) {
  auto shared = std::make_shared<const StaticFilesOptions>(std::move(options));
  // Not a coroutine lambda: the coroutine frame of serve() owns its own copy of the options,
  // so it never refers back into this std::function.
  return [shared](Request& request, RequestContext&) { return serve(shared, request); };
}

}  // namespace wasimoff::http
