//! Gives `ore-torch` (built with `train`) an rpath to libtorch, so it runs
//! without LD_LIBRARY_PATH (torch-sys reports where it found libtorch).
//! `ore` itself does not link libtorch.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg-bin=ore-torch=-Wl,-rpath,{lib}");
    }
    // With `cuda`, keep libtorch.so (and through it libtorch_cuda.so) as a
    // needed library even though no symbol of it is used directly, so that
    // CUDA devices are visible (needs the full PyPI torch; see the Makefile).
    if std::env::var_os("CARGO_FEATURE_CUDA").is_some() {
        for arg in ["-Wl,--no-as-needed", "-ltorch", "-Wl,--as-needed"] {
            println!("cargo:rustc-link-arg-bin=ore-torch={arg}");
        }
    }
}
