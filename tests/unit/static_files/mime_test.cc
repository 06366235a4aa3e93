#include "net/http/mime.h"

#include <gtest/gtest.h>

namespace wasimoff::http {
namespace {

TEST(Mime, EveryRowOfTheSpecTable) {
  EXPECT_EQ(mime_type_for("a.html"), "text/html; charset=utf-8");
  EXPECT_EQ(mime_type_for("a.htm"), "text/html; charset=utf-8");
  EXPECT_EQ(mime_type_for("a.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(mime_type_for("a.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(mime_type_for("a.css"), "text/css; charset=utf-8");
  EXPECT_EQ(mime_type_for("a.wasm"), "application/wasm");
  EXPECT_EQ(mime_type_for("a.json"), "application/json");
  EXPECT_EQ(mime_type_for("a.js.map"), "application/json");
  EXPECT_EQ(mime_type_for("a.svg"), "image/svg+xml");
  EXPECT_EQ(mime_type_for("a.png"), "image/png");
  EXPECT_EQ(mime_type_for("a.jpg"), "image/jpeg");
  EXPECT_EQ(mime_type_for("a.jpeg"), "image/jpeg");
  EXPECT_EQ(mime_type_for("a.gif"), "image/gif");
  EXPECT_EQ(mime_type_for("a.webp"), "image/webp");
  EXPECT_EQ(mime_type_for("favicon.ico"), "image/x-icon");
  EXPECT_EQ(mime_type_for("a.woff"), "font/woff");
  EXPECT_EQ(mime_type_for("a.woff2"), "font/woff2");
  EXPECT_EQ(mime_type_for("a.ttf"), "font/ttf");
  EXPECT_EQ(mime_type_for("a.txt"), "text/plain; charset=utf-8");
  EXPECT_EQ(mime_type_for("a.zip"), "application/zip");
}

TEST(Mime, UnknownAndEdgeCasesAreOctetStream) {
  EXPECT_EQ(mime_type_for("a.exe"), "application/octet-stream");
  EXPECT_EQ(mime_type_for("Makefile"), "application/octet-stream");
  EXPECT_EQ(mime_type_for(""), "application/octet-stream");
  EXPECT_EQ(mime_type_for("a."), "application/octet-stream");
  EXPECT_EQ(mime_type_for(".wasm"), "application/octet-stream");          // dot-file, no extension
  EXPECT_EQ(mime_type_for("dir.js/readme"), "application/octet-stream");  // only the last part
  EXPECT_EQ(mime_type_for("a.json5"), "application/octet-stream");
}

TEST(Mime, ExtensionIsCaseInsensitiveAndPathsWork) {
  EXPECT_EQ(mime_type_for("LOGO.PNG"), "image/png");
  EXPECT_EQ(mime_type_for("Index.Html"), "text/html; charset=utf-8");
  EXPECT_EQ(mime_type_for("/srv/www/assets/app.min.js"), "text/javascript; charset=utf-8");
}

}  // namespace
}  // namespace wasimoff::http
