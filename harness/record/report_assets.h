/*
 * report_assets.h - the HTML report's static parts, kept as real files in
 * harness/record (report.css, report_defs.svg, report.js) and compiled in
 * by cmake/embed.cmake: each is its file's bytes (a NUL after them, not
 * counted in the length). Read-only, shared by every thread.
 */
#ifndef HARNESS_RECORD_REPORT_ASSETS_H
#define HARNESS_RECORD_REPORT_ASSETS_H

#include <stddef.h>

/* The style sheet, for inside <style>. */
extern const unsigned char report_css[];
extern const size_t report_css_len;
/* The SVG fill patterns, so that bands and bars read without colour. */
extern const unsigned char report_defs_svg[];
extern const size_t report_defs_svg_len;
/* The drawing script, for inside <script>: SVG from the data blob. */
extern const unsigned char report_js[];
extern const size_t report_js_len;

#endif
