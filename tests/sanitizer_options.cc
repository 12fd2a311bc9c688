// Linked into every sanitizer-built test executable (IBO_SANITIZE): how the sanitizers report.
// Environment variables (ASAN_OPTIONS, LSAN_OPTIONS, UBSAN_OPTIONS) still override these.

// UBSan: a stack trace with every report (the build stops at the first, -fno-sanitize-recover).
extern "C" const char* __ubsan_default_options() { return "print_stacktrace=1"; }

// LeakSanitizer: cpprestsdk (a Debian library, built without the sanitizers) sometimes leaves a
// pplx task continuation of its listener's response stream unreleased at exit; not our code.
extern "C" const char* __lsan_default_suppressions() { return "leak:libcpprest.so\n"; }
