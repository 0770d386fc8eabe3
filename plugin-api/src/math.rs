//! Transcendental functions with identical results on every target.
//!
//! `f64::ln` and friends call the platform's libm natively but a different implementation on
//! wasm32, which may differ in the last bit. Strategies that want the WASM and native builds of
//! the same code to produce identical ladders use these instead (the pure-Rust `libm` port).
//!
//! `sqrt`, `floor` and `ceil` are exactly specified by IEEE 754, so every correct
//! implementation gives the same bits: on wasm32 they use `f64`'s methods, which compile to the
//! WASM instructions `f64.sqrt`, `f64.floor` and `f64.ceil`, instead of `libm`'s software
//! versions, which are several times slower there.

/// Natural logarithm.
#[inline]
pub fn ln(x: f64) -> f64 {
    libm::log(x)
}

/// `ln(1 + x)`, accurate for small `x`.
#[inline]
pub fn ln_1p(x: f64) -> f64 {
    libm::log1p(x)
}

/// `e^x`.
#[inline]
pub fn exp(x: f64) -> f64 {
    libm::exp(x)
}

/// `x^y`.
#[inline]
pub fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}

/// Square root (IEEE exact everywhere).
#[inline]
pub fn sqrt(x: f64) -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        x.sqrt()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        libm::sqrt(x)
    }
}

/// Largest integer `<= x` (IEEE exact everywhere).
#[inline]
pub fn floor(x: f64) -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        x.floor()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        libm::floor(x)
    }
}

/// Smallest integer `>= x` (IEEE exact everywhere).
#[inline]
pub fn ceil(x: f64) -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        x.ceil()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        libm::ceil(x)
    }
}

/// Round `x` down to a multiple of `step` (no-op when `step <= 0`).
#[inline]
pub fn floor_to(x: f64, step: f64) -> f64 {
    if step > 0.0 {
        floor(x / step) * step
    } else {
        x
    }
}

/// Round `x` up to a multiple of `step` (no-op when `step <= 0`).
#[inline]
pub fn ceil_to(x: f64, step: f64) -> f64 {
    if step > 0.0 { ceil(x / step) * step } else { x }
}
