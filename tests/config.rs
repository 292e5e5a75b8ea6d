//! Where `pactum serve` and `pactum index` take each setting from, checked through the binary
//! with `--print-config` (settings resolved and checked, nothing connected to): for every setting,
//! the default, then the file over it, the environment over the file, the flag over the
//! environment; and the errors a user sees for a misspelt key, a value of the wrong type, a
//! missing setting and a secret given as a flag.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use eyre::{ensure, Result};
use serde_json::{json, Value};

/// One setting: its flag, its variable, and a value for each layer as the file, the environment
/// and the flag write it, with what `--print-config` shows for each and for the default.
struct Row {
    key: &'static str,
    env: &'static str,
    /// TOML, as it follows `key = ` in the file.
    file: String,
    env_value: String,
    flag: String,
    /// What is printed without the setting anywhere (`None`: required, no default).
    default: Option<Value>,
    shown: [Value; 3],
}

fn row(
    key: &'static str,
    env: &'static str,
    values: [&str; 3],
    default: Option<Value>,
    shown: [Value; 3],
) -> Row {
    Row {
        key,
        env,
        file: values[0].to_owned(),
        env_value: values[1].to_owned(),
        flag: values[2].to_owned(),
        default,
        shown,
    }
}

/// A quoted TOML string and the same text for the variable and the flag.
fn text(key: &'static str, env: &'static str, v: [&str; 3], default: Option<Value>) -> Row {
    row(key, env, [&format!("{:?}", v[0]), v[1], v[2]], default, v.map(|s| json!(s)))
}

/// A number, the same in all three places.
fn number(key: &'static str, env: &'static str, v: [u64; 3], default: Option<u64>) -> Row {
    let s = v.map(|n| n.to_string());
    row(key, env, [&s[0], &s[1], &s[2]], default.map(|d| json!(d)), v.map(|n| json!(n)))
}

/// An address of decimal digits only, so that its checksummed form is the same text.
fn address(n: u8) -> String {
    format!("0x{n:040}")
}

fn scratch(name: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("pactum-config-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// `pactum <args>` with only `env` in its environment (nothing of the machine's leaks in).
fn pactum(args: &[String], env: &[(&str, &str)]) -> Result<Output> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pactum"));
    cmd.env_clear().env("RUST_BACKTRACE", "0").env("RUST_LIB_BACKTRACE", "0").args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Ok(cmd.output()?)
}

/// Runs `--print-config` and returns the printed settings, or the error text.
fn print_config(
    command: &str,
    rest: &[String],
    file: Option<&Path>,
    env: &[(&str, &str)],
) -> Result<std::result::Result<Value, String>> {
    let mut args = vec![command.to_owned(), "--print-config".to_owned()];
    if let Some(f) = file {
        args.extend(["--config".to_owned(), f.display().to_string()]);
    }
    args.extend(rest.iter().cloned());
    let out = pactum(&args, env)?;
    if out.status.success() {
        Ok(Ok(serde_json::from_slice(&out.stdout)?))
    } else {
        Ok(Err(String::from_utf8_lossy(&out.stderr).into_owned()))
    }
}

/// For each row: default, file over default, environment over file, flag over environment. The
/// other required settings come as flags (`base`), except the one under test.
fn check_layers(command: &str, base: &[(&str, String)], rows: &[Row]) -> Result<()> {
    let dir = scratch(command)?;
    for r in rows {
        let flag = format!("--{}", r.key.replace('_', "-"));
        let rest: Vec<String> = base
            .iter()
            .filter(|(k, _)| *k != r.key)
            .flat_map(|(k, v)| [format!("--{}", k.replace('_', "-")), v.clone()])
            .collect();
        let shown = |printed: std::result::Result<Value, String>| -> Result<Value> {
            match printed {
                Ok(v) => Ok(v[r.key].clone()),
                Err(e) => eyre::bail!("{command} {}: {e}", r.key),
            }
        };

        let nowhere = print_config(command, &rest, None, &[])?;
        match &r.default {
            Some(d) => ensure!(shown(nowhere)? == *d, "{command} {}: default", r.key),
            None => {
                let err = nowhere.err().unwrap_or_default();
                ensure!(
                    err.contains(&flag) && err.contains(r.env) && err.contains(r.key),
                    "{command} {}: missing: {err}",
                    r.key
                );
            }
        }

        let file = dir.join(format!("{}.toml", r.key));
        std::fs::write(&file, format!("{} = {}\n", r.key, r.file))?;
        let from_file = shown(print_config(command, &rest, Some(&file), &[])?)?;
        ensure!(from_file == r.shown[0], "{command} {}: file over default: {from_file}", r.key);

        let env = [(r.env, r.env_value.as_str())];
        let from_env = shown(print_config(command, &rest, Some(&file), &env)?)?;
        ensure!(from_env == r.shown[1], "{command} {}: environment over file: {from_env}", r.key);

        let mut with_flag = rest.clone();
        with_flag.extend([flag.clone(), r.flag.clone()]);
        let from_flag = shown(print_config(command, &with_flag, Some(&file), &env)?)?;
        ensure!(from_flag == r.shown[2], "{command} {}: flag over environment: {from_flag}", r.key);
    }
    Ok(())
}

/// The settings every run needs, as flags; a row replaces its own.
fn required() -> Vec<(&'static str, String)> {
    vec![
        ("rpc_url", "http://127.0.0.1:1/".to_owned()),
        ("database_url", "postgres://base/db".to_owned()),
        ("chain_id", "31337".to_owned()),
        ("escrow", address(1)),
    ]
}

/// The rows every long-running command has: the four required settings and the optional
/// performance contract.
fn required_rows() -> Vec<Row> {
    vec![
        text(
            "rpc_url",
            "PACTUM_RPC_URL",
            ["http://file:1/", "http://env:2/", "http://flag:3/"],
            None,
        ),
        text(
            "database_url",
            "DATABASE_URL",
            ["postgres://file/db", "postgres://env/db", "postgres://flag/db"],
            None,
        ),
        number("chain_id", "PACTUM_CHAIN_ID", [11, 12, 13], None),
        text("escrow", "PACTUM_ESCROW", [&address(11), &address(12), &address(13)], None),
        // Optional: the performance-pay contract beside the escrow.
        text(
            "performance",
            "PACTUM_PERFORMANCE",
            [&address(41), &address(42), &address(43)],
            Some(Value::Null),
        ),
    ]
}

/// The `chains` row: one chain in the file (`[[chains]]` as an inline array), two in the
/// environment (`;`-separated), one as the flag. With `start`, each names a start block (what
/// `pactum index` needs off anvil's chain).
fn chains_row(start: bool) -> Row {
    let spec = |id: u64, extra: &str| {
        let start = if start { format!(",start_block={}", id + 100) } else { String::new() };
        format!("chain_id={id},rpc_url=http://c{id}:1/,escrow={}{start}{extra}", address(id as u8))
    };
    let shown = |id: u64, tokens: Vec<String>, confirmations: Value| {
        json!({
            "chain_id": id, "rpc_url": format!("http://c{id}:1/"), "escrow": address(id as u8),
            "performance": Value::Null,
            "start_block": if start { json!(id + 100) } else { Value::Null },
            // `pactum index` shows what each chain runs with: the top-level defaults unless set.
            "confirmations": if start && confirmations.is_null() { json!(0) } else { confirmations },
            "finality_depth": if start { json!(64) } else { Value::Null },
            "tokens": tokens,
        })
    };
    let file = format!(
        "[{{ chain_id = 21, rpc_url = \"http://c21:1/\", escrow = \"{}\"{}, tokens = [\"{}\"] }}]",
        address(21),
        if start { ", start_block = 121" } else { "" },
        address(31)
    );
    row(
        "chains",
        "PACTUM_CHAINS",
        [&file, &format!("{};{}", spec(22, ""), spec(23, ",confirmations=3")), &spec(24, "")],
        Some(json!([])),
        [
            json!([shown(21, vec![address(31)], Value::Null)]),
            json!([shown(22, vec![], Value::Null), shown(23, vec![], json!(3))]),
            json!([shown(24, vec![], Value::Null)]),
        ],
    )
}

#[test]
fn serve_takes_each_setting_flag_over_environment_over_file_over_default() -> Result<()> {
    let dir = scratch("serve-keys")?;
    let keys: Vec<String> = (1..=3u8)
        .map(|i| {
            let path = dir.join(format!("export-{i}.key"));
            std::fs::write(&path, format!("0x{}", format!("{i:02x}").repeat(32)))?;
            Ok(path.display().to_string())
        })
        .collect::<Result<_>>()?;
    let list = |key, env, v: [u8; 4]| {
        let a = v.map(address);
        row(
            key,
            env,
            [&format!("[{:?}]", a[0]), &format!("{},{}", a[1], a[2]), &a[3]],
            Some(json!([])),
            [json!([a[0]]), json!([a[1], a[2]]), json!([a[3]])],
        )
    };
    let mut rows = required_rows();
    rows.push(chains_row(false));
    rows.extend([
        text(
            "listen",
            "PACTUM_LISTEN",
            ["127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"],
            Some(json!("127.0.0.1:8080")),
        ),
        text(
            "siwe_domain",
            "PACTUM_SIWE_DOMAIN",
            ["file.example", "env.example", "flag.example"],
            Some(Value::Null),
        ),
        text(
            "siwe_uri",
            "PACTUM_SIWE_URI",
            ["https://file.example", "https://env.example", "https://flag.example"],
            Some(Value::Null),
        ),
        list("auditors", "PACTUM_AUDITORS", [21, 22, 23, 24]),
        list("tokens", "PACTUM_TOKENS", [31, 32, 33, 34]),
        row(
            "cors_origins",
            "PACTUM_CORS_ORIGINS",
            [
                "[\"https://file.example\"]",
                "https://env.example,https://b.example",
                "https://f.example",
            ],
            Some(json!([])),
            [
                json!(["https://file.example"]),
                json!(["https://env.example", "https://b.example"]),
                json!(["https://f.example"]),
            ],
        ),
        number("anonymous_rate_limit", "PACTUM_ANONYMOUS_RATE_LIMIT", [1, 2, 3], Some(60)),
        number("account_rate_limit", "PACTUM_ACCOUNT_RATE_LIMIT", [4, 5, 6], Some(600)),
        number("prune_interval", "PACTUM_PRUNE_INTERVAL", [7, 8, 9], Some(300)),
        number("reminder_interval", "PACTUM_REMINDER_INTERVAL", [4, 5, 6], Some(10)),
        number("replica_max_lag_ms", "PACTUM_REPLICA_MAX_LAG_MS", [200, 300, 400], Some(1000)),
        text(
            "database_read_url",
            "PACTUM_DATABASE_READ_URL",
            ["postgres://file@replica/x", "postgres://env@replica/x", "postgres://flag@replica/x"],
            Some(Value::Null),
        ),
        text(
            "export_key_file",
            "PACTUM_EXPORT_KEY_FILE",
            [&keys[0], &keys[1], &keys[2]],
            Some(Value::Null),
        ),
        row(
            "webhooks",
            "PACTUM_WEBHOOKS",
            ["false", "true", "false"],
            Some(json!(true)),
            [json!(false), json!(true), json!(false)],
        ),
        number("webhooks_concurrency", "PACTUM_WEBHOOKS_CONCURRENCY", [3, 4, 5], Some(32)),
        number("webhooks_timeout", "PACTUM_WEBHOOKS_TIMEOUT", [6, 7, 8], Some(10)),
        number(
            "webhooks_disable_after",
            "PACTUM_WEBHOOKS_DISABLE_AFTER",
            [60, 61, 62],
            Some(432_000),
        ),
        row(
            "webhooks_allow_private",
            "PACTUM_WEBHOOKS_ALLOW_PRIVATE",
            ["true", "false", "true"],
            Some(json!(false)),
            [json!(true), json!(false), json!(true)],
        ),
    ]);
    check_layers("serve", &required(), &rows)
}

#[test]
fn index_takes_each_setting_flag_over_environment_over_file_over_default() -> Result<()> {
    let mut rows = required_rows();
    rows.push(chains_row(true));
    rows.extend([
        // Defaults to 1 on anvil's chain only (the base chain id); see the next test.
        number("start_block", "PACTUM_START_BLOCK", [100, 200, 300], Some(1)),
        number("confirmations", "PACTUM_CONFIRMATIONS", [1, 2, 3], Some(0)),
        number("finality_depth", "PACTUM_FINALITY_DEPTH", [10, 20, 30], Some(64)),
        number("initial_range", "PACTUM_INITIAL_RANGE", [5, 6, 7], Some(4)),
        number("max_range", "PACTUM_MAX_RANGE", [1000, 2000, 3000], Some(50_000)),
        number("batch_events", "PACTUM_BATCH_EVENTS", [11, 22, 33], Some(10_000)),
        number("poll_ms", "PACTUM_POLL_MS", [50, 60, 70], Some(500)),
        text(
            "metrics_addr",
            "PACTUM_METRICS_ADDR",
            ["127.0.0.1:1001", "off", "127.0.0.1:1003"],
            Some(json!("127.0.0.1:9464")),
        ),
    ]);
    // Not anvil's chain in the chain id's own rows: the start block is then required.
    let mut base = required();
    base.push(("start_block", "5".to_owned()));
    check_layers("index", &base, &rows)
}

/// On a real chain, a start block from nowhere would be a guess: it must be given.
#[test]
fn index_start_block_has_no_default_on_a_real_chain() -> Result<()> {
    let mut base: Vec<String> = required()
        .into_iter()
        .filter(|(k, _)| *k != "chain_id")
        .flat_map(|(k, v)| [format!("--{}", k.replace('_', "-")), v])
        .collect();
    base.extend(["--chain-id".to_owned(), "1".to_owned()]);
    let err = print_config("index", &base, None, &[])?.err().unwrap_or_default();
    for name in ["--start-block", "PACTUM_START_BLOCK", "`start_block`", "chain 1"] {
        assert!(err.contains(name), "{name} not in: {err}");
    }
    base.extend(["--start-block".to_owned(), "19000000".to_owned()]);
    let printed = print_config("index", &base, None, &[])?.map_err(eyre::Report::msg)?;
    assert_eq!(printed["start_block"], json!(19_000_000));
    Ok(())
}

/// A misspelt key and a value of the wrong type name the key and the file; a missing file is
/// named too.
#[test]
fn file_errors_name_the_key_and_the_file() -> Result<()> {
    let dir = scratch("errors")?;
    let base: Vec<String> = required()
        .into_iter()
        .flat_map(|(k, v)| [format!("--{}", k.replace('_', "-")), v])
        .collect();
    for (command, misspelt, wrong) in [
        ("serve", "prune_intervall = 5", "prune_interval = \"soon\""),
        ("index", "finality_dept = 5", "finality_depth = \"deep\""),
        ("serve", "auditor_api_key = [\"0123456789abcdef01234567\"]", "auditors = 5"),
    ] {
        for (toml, key, what) in [
            (misspelt, misspelt.split(' ').next().unwrap_or_default(), "unknown field"),
            (wrong, wrong.split(' ').next().unwrap_or_default(), "invalid type"),
        ] {
            let file = dir.join(format!("{command}-{key}.toml"));
            std::fs::write(&file, format!("{toml}\n"))?;
            let err = print_config(command, &base, Some(&file), &[])?.err().unwrap_or_default();
            assert!(
                err.contains(what)
                    && err.contains(&format!("`{key}`"))
                    && err.contains(&file.display().to_string()),
                "{command} {toml}: {err}"
            );
        }
    }
    let missing = dir.join("absent.toml");
    let err = print_config("index", &base, Some(&missing), &[])?.err().unwrap_or_default();
    assert!(err.contains(&missing.display().to_string()), "{err}");
    Ok(())
}

/// Auditor API keys are secrets: from the file or `PACTUM_AUDITOR_API_KEYS` (over the file),
/// never a flag, never printed; a short one is refused.
#[test]
fn auditor_api_keys_come_from_the_environment_or_the_file_only() -> Result<()> {
    let dir = scratch("secrets")?;
    let base: Vec<String> = required()
        .into_iter()
        .flat_map(|(k, v)| [format!("--{}", k.replace('_', "-")), v])
        .collect();
    let (in_file, env_a, env_b) =
        ("file-key-0123456789abcdef", "env-key-a-0123456789abcdef", "env-key-b-0123456789abcdef");
    let file = dir.join("keys.toml");
    std::fs::write(&file, format!("auditor_api_keys = [{in_file:?}]\n"))?;

    let mut as_flag = base.clone();
    as_flag.extend(["--auditor-api-keys".to_owned(), in_file.to_owned()]);
    let out = pactum(&[vec!["serve".to_owned()], as_flag].concat(), &[])?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unexpected argument"));

    let from_file = print_config("serve", &base, Some(&file), &[])?.map_err(eyre::Report::msg)?;
    assert_eq!(from_file["auditor_api_keys"], json!(["***"]));

    let env = format!("{env_a}, {env_b},");
    let args = [vec!["serve".to_owned(), "--print-config".to_owned(), "--config".to_owned()], {
        let mut a = vec![file.display().to_string()];
        a.extend(base.iter().cloned());
        a
    }]
    .concat();
    let out = pactum(&args, &[("PACTUM_AUDITOR_API_KEYS", &env)])?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: Value = serde_json::from_str(&stdout)?;
    assert_eq!(printed["auditor_api_keys"], json!(["***", "***"]), "the environment's two");
    for secret in [in_file, env_a, env_b] {
        assert!(!stdout.contains(secret), "{secret} printed");
    }

    let err = print_config("serve", &base, None, &[("PACTUM_AUDITOR_API_KEYS", "short")])?
        .err()
        .unwrap_or_default();
    assert!(err.contains("at least 24 characters"), "{err}");
    Ok(())
}

/// Passwords in URLs are not printed.
#[test]
fn print_config_hides_url_passwords_and_node_keys() -> Result<()> {
    let mut args: Vec<String> = required()
        .into_iter()
        .filter(|(k, _)| *k != "database_url" && *k != "rpc_url")
        .flat_map(|(k, v)| [format!("--{}", k.replace('_', "-")), v])
        .collect();
    args.extend([
        "--database-url".to_owned(),
        "postgres://u:hunter2@db/x?password=hunter3".to_owned(),
        // A provider's key sits in the path or the query, not in a password.
        "--rpc-url".to_owned(),
        "https://mainnet.example.io:8545/v3/hunter4?apikey=hunter5".to_owned(),
        // Another chain's node: its key is as secret.
        "--chains".to_owned(),
        format!(
            "chain_id=8453,rpc_url=https://base.example.io/v2/hunter7?key=hunter8,escrow={},start_block=1",
            address(9)
        ),
    ]);
    for command in ["serve", "index"] {
        let printed = print_config(command, &args, None, &[])?.map_err(eyre::Report::msg)?;
        let other = printed["chains"][0]["rpc_url"].as_str().unwrap_or_default();
        assert!(
            !other.contains("hunter") && other.starts_with("https://base.example.io/"),
            "{other}"
        );
        let shown = printed["database_url"].as_str().unwrap_or_default();
        assert!(!shown.contains("hunter"), "{shown}");
        assert!(shown.starts_with("postgres://u:***@db/x"), "{shown}");
        let node = printed["rpc_url"].as_str().unwrap_or_default();
        assert!(!node.contains("hunter"), "{node}");
        assert!(node.starts_with("https://mainnet.example.io:8545/"), "{node}");
    }
    args.extend(["--database-read-url".to_owned(), "postgres://r:hunter6@replica/x".to_owned()]);
    let printed = print_config("serve", &args, None, &[])?.map_err(eyre::Report::msg)?;
    let shown = printed["database_read_url"].as_str().unwrap_or_default();
    assert_eq!(shown, "postgres://r:***@replica/x");
    Ok(())
}

/// A chain listed twice (the primary one again, or twice in `chains`) would give two indexers one
/// checkpoint; a spec with a key of no setting is a typo. Both are refused, naming the problem.
#[test]
fn a_chain_listed_twice_or_misspelt_is_refused() -> Result<()> {
    let base: Vec<String> = required()
        .into_iter()
        .flat_map(|(k, v)| [format!("--{}", k.replace('_', "-")), v])
        .collect();
    let again = format!("chain_id=31337,rpc_url=http://x:1/,escrow={}", address(2));
    let twice = format!(
        "chain_id=9,rpc_url=http://x:1/,escrow={0};chain_id=9,rpc_url=http://y:1/,escrow={0}",
        address(3)
    );
    // The node's key in its URL stays out of the error.
    let typo = format!("chain_id=9,rpc_url=http://x:1/v3/hunter9,escrow={},start=5", address(3));
    for command in ["serve", "index"] {
        for (spec, expect) in [
            (&again, "chain 31337 is configured twice"),
            (&twice, "chain 9 is configured twice"),
            (&typo, "unknown field `start`"),
        ] {
            let mut rest = base.clone();
            rest.extend([
                "--chains".to_owned(),
                spec.clone(),
                "--start-block".to_owned(),
                "1".to_owned(),
            ]);
            if command == "serve" {
                rest.truncate(rest.len() - 2);
            }
            let err = print_config(command, &rest, None, &[])?.err().unwrap_or_default();
            ensure!(err.contains(expect), "{command} --chains {spec}: {err}");
            ensure!(!err.contains("hunter9"), "{command}: the error shows the node's key: {err}");
        }
    }
    Ok(())
}
