// Included by every target: ASan defaults (ASAN_OPTIONS still overrides).
// - detect_odr_violation=0: the bundled SQLite amalgamation (rusqlite's
//   `bundled` feature, compiled with -fsanitize=address by cargo-fuzz) holds
//   two file-static tables named `aiOff`, which the one-definition-rule
//   check reports at start-up before any input runs: a false positive.
// - detect_leaks=0: nnnoiseless's FFT planners (easyfft, generic_singleton)
//   are per-thread singletons leaked by design, reported at exit. The crate
//   is `forbid(unsafe_code)`, so leaks are not what these targets hunt.
#[no_mangle]
pub extern "C" fn __asan_default_options() -> *const std::ffi::c_char {
    c"detect_odr_violation=0:detect_leaks=0".as_ptr()
}
