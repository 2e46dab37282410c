//! What a new admin tripped over in a trial run, each as the binary shows it: the setup script's
//! checks on its own flags, addresses and hosts the plan refuses, JSON errors, and a test
//! message that is sent but not searched for.

use crate::util::*;

const APP: &str = "66666666-7777-8888-9999-000000000000";

fn setup(extra: &[&str]) -> Vec<String> {
    let mut v = strings(&[
        "setup-script",
        "--app-id",
        APP,
        "--tenant",
        "contoso.example",
    ]);
    v.extend(strings(extra));
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn setup_script_refuses_the_app_id_as_the_service_principal_id() {
    let run = xoauth(
        &setup(&[
            "--mailbox",
            "a@contoso.example",
            "--service-principal-id",
            APP,
        ]),
        None,
        None,
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert_eq!(run.stdout, "", "no script for the wrong id");
    assert!(
        run.stderr.contains("Enterprise Application's object id")
            && run.stderr.contains("Application (client) id"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn setup_script_holds_its_flags_to_each_other() {
    let rbac = xoauth(
        &setup(&[
            "--mailbox",
            "a@contoso.example",
            "--protocols",
            "imap",
            "--smtp-rbac",
        ]),
        None,
        None,
    )
    .await;
    assert_eq!(rbac.code, 2, "{}", rbac.all());
    assert!(rbac.stderr.contains("--smtp-rbac"), "{}", rbac.stderr);

    let imap = xoauth(
        &setup(&["--mailbox", "a@contoso.example", "--protocols", "imap"]),
        None,
        None,
    )
    .await;
    assert_eq!(imap.code, 0, "{}", imap.all());
    let last = imap.stdout.lines().last().unwrap_or_default();
    assert!(last.starts_with("# xoauth check "), "{last}");
    assert!(last.contains(" --protocols imap "), "{last}");

    let twice = xoauth(
        &setup(&[
            "--mailbox",
            "a@contoso.example",
            "--mailbox",
            "A@Contoso.example",
        ]),
        None,
        None,
    )
    .await;
    assert_eq!(twice.code, 0, "{}", twice.all());
    assert_eq!(
        twice
            .stdout
            .matches("Set-CASMailbox -Identity 'a@contoso.example' -ImapEnabled $true")
            .count(),
        1,
        "{}",
        twice.stdout
    );
    assert!(
        !twice.stdout.contains("A@Contoso.example"),
        "first spelling kept"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn addresses_with_dollar_and_backtick_are_quoted_typographic_quotes_refused() {
    let run = xoauth(&setup(&["--mailbox", "a$b`c@contoso.example"]), None, None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout
            .contains("Add-MailboxPermission -Identity 'a$b`c@contoso.example'"),
        "{}",
        run.stdout
    );

    let slip = xoauth(
        &setup(&["--mailbox", "o’brien@contoso.example"]),
        None,
        None,
    )
    .await;
    assert_eq!(slip.code, 2, "{}", slip.all());
    assert!(
        slip.stderr
            .contains("a typographic quote ’ (U+2019), probably an autocorrect slip of '"),
        "{}",
        slip.stderr
    );

    // The same slip in a sign-in name is refused before any sign-in.
    let imap = xoauth(
        &with_token(
            strings(&[
                "imap",
                "--host",
                "127.0.0.1",
                "--user",
                "o’brien@contoso.example",
            ]),
            &[],
        ),
        Some("a.b.c"),
        None,
    )
    .await;
    assert_eq!(imap.code, 2, "{}", imap.all());
    assert!(
        imap.stderr.contains("--user") && imap.stderr.contains("autocorrect slip"),
        "{}",
        imap.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn host_forms_that_would_be_misread_are_refused() {
    for (host, says) in [
        ("imaps://127.0.0.1:46019", "starts with imaps://"),
        ("::1:993", "Write [::1]:993"),
        ("[::1", "is not closed"),
    ] {
        let run = xoauth(
            &with_token(strings(&["imap", "--host", host, "--user", ALICE]), &[]),
            Some("a.b.c"),
            None,
        )
        .await;
        assert_eq!(run.code, 2, "{host}: {}", run.all());
        assert!(run.stderr.contains(says), "{host}: {}", run.stderr);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn json_with_a_value_still_gets_a_json_error() {
    let run = xoauth(
        &strings(&["imap", "--json=yes", "--user", "a@b.c"]),
        None,
        None,
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.all());
    let doc = run.json();
    assert_eq!(doc["error"]["kind"], "usage", "{doc}");
    assert_eq!(doc["exit_code"], 2);

    // --print keeps standard output for the token alone, and says so.
    let run = xoauth(
        &strings(&["token", "--json", "--print", "--user", "a@b.c"]),
        None,
        None,
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .contains("no JSON error object on standard output")
            && run.stderr.contains("--print"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_says_why_a_message_sent_elsewhere_is_not_searched_for() {
    let mock = Mock::start().await;
    let args = with_token(
        mock.check_args(false),
        &["--send", "--to", "bob@contoso.example", "--json"],
    );
    let run = xoauth(&args, Some(&mock.token(ALICE)), None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let doc = run.json();
    let smtp = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["protocol"] == "smtp")
        .unwrap();
    let warnings = smtp["warnings"].to_string();
    assert!(
        warnings.contains("IMAP does not look for it") && warnings.contains("bob@contoso.example"),
        "{warnings}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_refuses_a_port_for_a_protocol_it_does_not_check() {
    let run = xoauth(
        &with_token(
            strings(&[
                "check",
                "--protocols",
                "imap",
                "--smtp-port",
                "1",
                "--user",
                ALICE,
            ]),
            &[],
        ),
        Some("a.b.c"),
        None,
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr
            .contains("--smtp-port is for smtp, which --protocols does not check"),
        "{}",
        run.stderr
    );
}
