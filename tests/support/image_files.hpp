#pragma once
// Image files written by the tests: PNG files built chunk by chunk (so that a
// test can break any part of one), PNGs and JPEGs written by libpng and
// libjpeg (interlaced, progressive), and image folders on disk.
#include <cstdint>
#include <string>
#include <vector>

namespace xg::testing {

// An 8-bit PNG of colour type `colour` (0: grey) whose rows use filter
// (row % 5) applied to `pixels` (w x h bytes); the last `cut_raw` bytes of the
// filtered data are dropped (a negative count appends that many zeros).
std::string png(std::uint32_t w, std::uint32_t h, const std::vector<std::uint8_t>& pixels, int colour = 0,
                std::int64_t cut_raw = 0);
// A PNG with IHDR (w, h, `depth` bits, `colour`), one IDAT of the deflated `raw` bytes, and IEND.
std::string png_from_raw(std::uint32_t w, std::uint32_t h, int colour, const std::string& raw, int depth = 8);

// One PNG chunk: length, type, body, CRC.
std::string png_chunk(const std::string& type, const std::string& body);
// A PNG of colour type `colour` (0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6
// RGBA) and bit `depth` whose unfiltered rows are `bytes` (h rows of w pixels,
// each pixel its samples, a 16-bit sample big-endian); row r uses filter r % 5.
// `chunks` (PLTE, tRNS, made by png_chunk) go between IHDR and IDAT.
std::string png_samples(std::uint32_t w, std::uint32_t h, int colour, int depth, const std::vector<std::uint8_t>& bytes,
                        const std::string& chunks = "");

// A PNG written by libpng: colour type `colour`, bit `depth` (1..16), Adam7
// interlacing when `interlaced`; `bytes` are the rows as png_samples takes them
// (depth below 8: one byte a pixel, packed by libpng). `palette` (RGB triples)
// for colour type 3.
std::string png_written(std::uint32_t w, std::uint32_t h, int colour, int depth, const std::vector<std::uint8_t>& bytes,
                        bool interlaced, const std::vector<std::uint8_t>& palette = {});

// A JPEG written by libjpeg at `quality` (1..100): `channels` 1 (grey) or 3
// (RGB, interleaved), progressive when asked.
std::string jpeg(std::uint32_t w, std::uint32_t h, int channels, const std::vector<std::uint8_t>& pixels, int quality = 95,
                 bool progressive = false);

// Writes `bytes` to `path`, making its parent directories.
void write_bytes(const std::string& path, const std::string& bytes);

// An image folder for `--data`: under `root`, `per_class` grey PNGs of h x w
// in each of `classes` folders "c0", "c1", ...; image i of class k is a
// horizontal bar at row (k * h / classes), so the classes are easy to learn,
// with a little per-image noise. `prefix` is prepended to each file name.
void write_image_folder(const std::string& root, std::size_t classes, std::size_t per_class, std::uint32_t w = 8,
                        std::uint32_t h = 8, const std::string& prefix = "");

// An RGB image folder whose channels' statistics are known exactly: under
// `root`, `per_class` (even) RGB PNGs of h x w in each of `classes` folders
// "c0", "c1", ...; red is 255 everywhere (mean 1, a constant: std 1), green 255
// on the class's bar row (k * h / classes) and 0 elsewhere (mean 1/h), blue
// 255 in even-numbered images and 0 in odd ones (mean 0.5, std 0.5).
void write_rgb_image_folder(const std::string& root, std::size_t classes, std::size_t per_class, std::uint32_t w = 8,
                            std::uint32_t h = 8);

}  // namespace xg::testing
