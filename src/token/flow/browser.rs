//! Whether the interactive flow's browser can open on the user's screen. Its redirect goes to a
//! port on this machine, so where no browser can run here (an SSH session, a server, WSL
//! without a desktop) waiting for it would only end in `--login-wait`'s timeout: xoauth says
//! so at once and offers the device-code flow, which needs no browser here.

use std::ffi::OsString;

/// Why no browser can show the sign-in page here, when that is plain from the environment.
/// `desktop_os`: macOS and Windows, whose opener needs no display variable.
pub fn headless(var: impl Fn(&str) -> Option<OsString>, desktop_os: bool) -> Option<&'static str> {
    let set = |name: &str| var(name).is_some_and(|v| !v.is_empty());
    let ssh = set("SSH_CONNECTION") || set("SSH_TTY");
    let display = set("DISPLAY") || set("WAYLAND_DISPLAY");
    match (desktop_os, ssh, display) {
        (_, _, true) => None,
        (false, true, false) => Some(
            "this is an SSH session without a graphical display (DISPLAY and WAYLAND_DISPLAY \
             are unset)",
        ),
        (false, false, false) => {
            Some("there is no graphical display here (DISPLAY and WAYLAND_DISPLAY are unset)")
        }
        (true, true, false) => Some(
            "this is an SSH session: a browser would open on the remote machine's screen, not \
             yours",
        ),
        (true, false, false) => None,
    }
}

/// [`headless`] for this process.
pub fn headless_here() -> Option<&'static str> {
    headless(
        |name| std::env::var_os(name),
        cfg!(any(target_os = "macos", target_os = "windows")),
    )
}

/// Opens `url` with the system's opener (xdg-open and kin, `open`, the shell); `Err` says
/// why none worked. The opener is waited for briefly on tokio's blocking pool.
pub async fn open(url: &str) -> Result<(), String> {
    let url = url.to_string();
    match tokio::task::spawn_blocking(move || open::that_detached(url)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// What to tell the user when no browser opened: why, how to sign in instead, and how to go
/// on with this run anyway. `rerun` is the device-code command line, `device` whether the
/// provider has a device-code endpoint at all.
pub fn advice(
    why: &str,
    redirect: &str,
    port: u16,
    rerun: Option<&str>,
    device: bool,
    wait_secs: f64,
) -> String {
    let instead = match (device, rerun) {
        (true, Some(command)) => format!(
            "Sign in with a code on any device instead (the device-code flow), by running:\n  \
             {command}"
        ),
        (true, None) => {
            "Sign in with a code on any device instead: run again with --flow device-code."
                .to_string()
        }
        (false, _) => "The device-code flow, which needs no browser here, is not available: \
                       this provider has no device authorization endpoint (--device-url)."
            .to_string(),
    };
    format!(
        "No browser can be opened here: {why}.\n\
         The sign-in ends with a redirect to {redirect} on this machine, so it can only finish in \
         a browser that reaches this machine's port {port}.\n\
         {instead}\n\
         Or, to go on with this run, open the sign-in page in a browser that reaches port {port} \
         here (for SSH: ssh -L {port}:127.0.0.1:{port} to this host); xoauth waits up to \
         {wait_secs} s (--login-wait)."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn ssh_without_a_display_is_headless_everywhere() {
        let ssh = [("SSH_CONNECTION", "10.0.0.2 5022 10.0.0.1 22")];
        assert!(headless(env(&ssh), false).unwrap().contains("SSH session"));
        assert!(
            headless(env(&ssh), true)
                .unwrap()
                .contains("remote machine")
        );
        let tty = [("SSH_TTY", "/dev/pts/0")];
        assert!(headless(env(&tty), false).is_some());
        // X forwarding gives a display: the browser may well open.
        let forwarded = [("SSH_TTY", "/dev/pts/0"), ("DISPLAY", "localhost:10.0")];
        assert_eq!(headless(env(&forwarded), false), None);
    }

    #[test]
    fn linux_needs_a_display_and_desktops_do_not() {
        assert!(
            headless(env(&[]), false)
                .unwrap()
                .contains("no graphical display")
        );
        assert!(headless(env(&[("DISPLAY", "")]), false).is_some());
        assert_eq!(
            headless(env(&[("WAYLAND_DISPLAY", "wayland-0")]), false),
            None
        );
        assert_eq!(headless(env(&[]), true), None);
    }

    #[test]
    fn the_advice_names_the_command_or_why_there_is_none() {
        let a = advice(
            "no display",
            "http://localhost:4000",
            4000,
            Some("xoauth imap --flow device-code"),
            true,
            300.0,
        );
        assert!(
            a.contains("No browser can be opened here: no display."),
            "{a}"
        );
        assert!(a.contains("\n  xoauth imap --flow device-code\n"), "{a}");
        assert!(a.contains("ssh -L 4000:127.0.0.1:4000"), "{a}");
        assert!(a.contains("up to 300 s"), "{a}");
        let a = advice("x", "http://localhost:1", 1, None, true, 5.0);
        assert!(a.contains("--flow device-code"), "{a}");
        let a = advice("x", "http://localhost:1", 1, Some("c"), false, 5.0);
        assert!(a.contains("not available") && !a.contains("\n  c\n"), "{a}");
    }
}
