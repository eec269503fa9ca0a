//! Black-box: `serve` reads a TOML config file; flags win over it; mistakes in it
//! stop the server with a message naming the problem.

mod common;
use common::*;

#[tokio::test]
async fn a_config_file_sets_public_url_and_imports_and_flags_override_it() {
    // The files live apart from the servers' directories (a server removes its own).
    let files = temp_dir("cfgfiles");
    let dir = temp_dir("cfg");
    let import = files.join("import.json");
    std::fs::write(
        &import,
        serde_json::to_vec(&example_import()).expect("json"),
    )
    .expect("write");
    let cfg = files.join("portvakt.toml");
    std::fs::write(&cfg, format!("public_url = \"https://id.example.test/base/\"\nimport = [\"{}\"]\nrefresh_reuse_grace = 3\n", import.display())).expect("write");
    let srv = Server::start_in(&dir, &["--config", cfg.to_str().expect("utf8")]).expect("starts");
    let (s, d) = srv
        .get_json("/contoso/.well-known/openid-configuration")
        .await;
    assert_eq!(s, 200, "the import named in the file ran");
    assert_eq!(
        d["issuer"], "https://id.example.test/base/contoso",
        "public_url from the file, trailing slash trimmed"
    );
    drop(srv);

    let dir2 = temp_dir("cfg2");
    let srv = Server::start_in(
        &dir2,
        &[
            "--config",
            cfg.to_str().expect("utf8"),
            "--public-url",
            "http://flag.example.test",
        ],
    )
    .expect("starts");
    let (_, d) = srv
        .get_json("/contoso/.well-known/openid-configuration")
        .await;
    assert_eq!(
        d["issuer"], "http://flag.example.test/contoso",
        "the flag wins over the file"
    );
    drop(srv);
    let _ = std::fs::remove_dir_all(&files);
}

#[tokio::test]
async fn mistakes_in_the_config_stop_the_server_with_a_reason() {
    let dir = temp_dir("badcfg");
    let cfg = dir.join("portvakt.toml");
    std::fs::write(&cfg, "public_ulr = \"https://typo.example\"\n").expect("write");
    let err = Server::start_in(&dir, &["--config", cfg.to_str().expect("utf8")])
        .err()
        .expect("must not start");
    assert!(
        err.contains("public_ulr") && err.contains("portvakt.toml"),
        "{err}"
    );
    let err = Server::start_in(&dir, &["--public-url", "ftp://x"])
        .err()
        .expect("must not start");
    assert!(err.contains("must be an http(s) URL"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn serve_takes_data_before_the_subcommand_and_data_in_the_file() {
    use std::io::{BufRead, BufReader};
    let dir = temp_dir("globaldata");
    let cfg = dir.join("portvakt.toml");
    std::fs::write(
        &cfg,
        format!("data = \"{}\"\n", dir.join("from-file").display()),
    )
    .expect("write");
    for (args, want) in [
        (
            vec![
                "--data".to_string(),
                dir.join("from-flag").display().to_string(),
                "serve".into(),
            ],
            dir.join("from-flag"),
        ),
        (
            vec![
                "serve".to_string(),
                "--config".into(),
                cfg.display().to_string(),
            ],
            dir.join("from-file"),
        ),
    ] {
        let mut child = std::process::Command::new(BIN)
            .args(&args)
            .args(["--listen", "127.0.0.1:0"])
            .env_remove("PORTVAKT_DATA")
            .env_remove("PORTVAKT_MASTER_KEY")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        let out = child.stdout.take().expect("stdout");
        let mut lines = Vec::new();
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            let done = l.contains("ready in");
            lines.push(l);
            if done {
                break;
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            lines
                .iter()
                .any(|l| l.contains(&format!("data:             {}", want.display()))),
            "{args:?}: {lines:?}"
        );
        assert!(
            want.join("portvakt.db").exists(),
            "{args:?}: the database is in {}",
            want.display()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
