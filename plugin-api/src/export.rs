//! The `export_strategy!` macro.

/// Export a [`Strategy`](crate::Strategy) implementation as a plugin.
///
/// On `wasm32` this generates the `quoter_*` WASM exports listed in
/// [`wasm_exports`](crate::wasm_exports); natively it generates `quoter_abi_version` and
/// `quoter_native_vtable` for the host's library loader. Call it once per plugin crate.
///
/// ```ignore
/// plugin_api::export_strategy!(MyStrategy);
/// ```
#[macro_export]
macro_rules! export_strategy {
    ($strategy:ty) => {
        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code, missing_docs, unused_imports)]
        mod __quoter_wasm_exports {
            use super::*;
            type Rt = $crate::guest::GuestRuntime<$strategy>;
            ::std::thread_local! {
                static RT: ::core::cell::RefCell<Rt> = ::core::cell::RefCell::new(Rt::new());
            }
            fn with<R>(f: impl FnOnce(&mut Rt) -> R) -> R {
                RT.with(|rt| f(&mut rt.borrow_mut()))
            }
            #[unsafe(no_mangle)]
            pub extern "C" fn quoter_abi_version() -> i32 {
                $crate::ABI_VERSION as i32
            }
            #[unsafe(no_mangle)]
            pub extern "C" fn quoter_alloc(len: i32) -> i32 {
                with(|rt| rt.alloc(len))
            }
            #[unsafe(no_mangle)]
            pub extern "C" fn quoter_scratch_ptr() -> i32 {
                with(|rt| rt.scratch_ptr())
            }
            #[unsafe(no_mangle)]
            pub extern "C" fn quoter_input_ptr() -> i32 {
                with(|rt| rt.input_ptr())
            }
            #[unsafe(no_mangle)]
            pub extern "C" fn quoter_output_ptr() -> i32 {
                with(|rt| rt.output_ptr())
            }
            #[unsafe(no_mangle)]
            pub extern "C" fn quoter_fill_ptr() -> i32 {
                with(|rt| rt.fill_ptr())
            }
            #[unsafe(no_mangle)]
            pub extern "C" fn quoter_error_ptr() -> i32 {
                $crate::guest::error_ptr()
            }
            #[unsafe(no_mangle)]
            pub extern "C" fn quoter_create(len: i32) -> i32 {
                with(|rt| rt.create(len))
            }
            #[unsafe(no_mangle)]
            pub extern "C" fn quoter_update(len: i32) -> i32 {
                with(|rt| rt.update(len))
            }
            #[unsafe(no_mangle)]
            pub extern "C" fn quoter_quote() -> i32 {
                with(|rt| rt.quote())
            }
            #[unsafe(no_mangle)]
            pub extern "C" fn quoter_on_fill() -> i32 {
                with(|rt| rt.on_fill())
            }
            #[unsafe(no_mangle)]
            pub extern "C" fn quoter_save_state() -> i32 {
                with(|rt| rt.save_state())
            }
            #[unsafe(no_mangle)]
            pub extern "C" fn quoter_restore_state(len: i32) -> i32 {
                with(|rt| rt.restore_state(len))
            }
        }

        #[cfg(not(target_arch = "wasm32"))]
        #[allow(unsafe_code, missing_docs, unused_imports)]
        mod __quoter_native_exports {
            use super::*;
            static VTABLE: $crate::native::NativeVTable = $crate::native::vtable::<$strategy>();
            #[unsafe(no_mangle)]
            pub extern "C" fn quoter_abi_version() -> u32 {
                $crate::ABI_VERSION
            }
            #[unsafe(no_mangle)]
            pub extern "C" fn quoter_native_vtable() -> *const $crate::native::NativeVTable {
                &VTABLE
            }
        }
    };
}
