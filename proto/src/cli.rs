//! What the three binaries share as command-line tools.

/// The exit status of a tool whose output pipe was closed (128 + SIGPIPE,
/// as a shell reports a program that SIGPIPE ended).
pub const BROKEN_PIPE_STATUS: i32 = 141;

/// Makes a closed stdout or stderr (`rcctl list | head -1`, `… | grep -q
/// x`) end the program quietly, as command-line tools end, instead of a
/// panic: Rust ignores SIGPIPE, so `println!` into a closed pipe panics
/// with "failed printing to stdout: Broken pipe". Any other panic is
/// reported as before.
pub fn quiet_on_broken_pipe() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if is_broken_pipe(text) {
            std::process::exit(BROKEN_PIPE_STATUS);
        }
        previous(info);
    }));
}

/// Whether a panic's message is std's for printing into a closed pipe.
fn is_broken_pipe(text: &str) -> bool {
    text.starts_with("failed printing to std") && text.contains("Broken pipe")
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_a_closed_pipe_is_quiet() {
        assert!(super::is_broken_pipe(
            "failed printing to stdout: Broken pipe (os error 32)"
        ));
        assert!(super::is_broken_pipe(
            "failed printing to stderr: Broken pipe (os error 32)"
        ));
        assert!(!super::is_broken_pipe("index out of bounds"));
        assert!(!super::is_broken_pipe(
            "failed printing to stdout: No space left on device"
        ));
    }
}
