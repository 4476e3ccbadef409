//! `xuncha`: the command line. Parses arguments and calls the library.

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use xuncha::auth::Role;
use xuncha::crs::Bbox;
use xuncha::zone::registry::Indexing;
use xuncha::zone::ZoneKind;
use xuncha::{App, Config};

#[derive(Parser)]
#[command(
    name = "xuncha",
    version,
    about = "Xuncha (巡查): field inspection for city sanitation campaigns"
)]
struct Cli {
    /// Data folder (database and photos).
    #[arg(long, global = true, default_value = "data")]
    data: PathBuf,
    /// PostgreSQL + PostGIS database shared by several servers (`postgres://user:pass@host/db`);
    /// without it the database is SQLite in the data folder.
    #[arg(long, global = true, env = "XUNCHA_DATABASE_URL")]
    database: Option<String>,
    /// Photos in S3-compatible object storage (`s3://bucket/prefix`; endpoint and credentials from
    /// AWS_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, AWS_ALLOW_HTTP);
    /// without it photos are files under the data folder.
    #[arg(long, global = true, env = "XUNCHA_PHOTOS")]
    photos: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Load the Baishan demo city and demo accounts into an empty data folder (loopback only).
        #[arg(long)]
        demo: bool,
        /// Folder of the demo data.
        #[arg(long, default_value = "geodata/baishan")]
        geodata: PathBuf,
        /// Folder of the built web client.
        #[arg(long, default_value = "web/dist")]
        web: PathBuf,
        /// Let anyone read the zone collections of /ogc without signing in (reports stay private).
        #[arg(long)]
        public_zones: bool,
        /// Turn on the public map (随手拍) at /public: zones with their owners and contacts, and
        /// open reports without names or original photos, to anyone (rate-limited per address).
        #[arg(long)]
        public_map: bool,
        /// The Open311 jurisdiction_id to answer for (requests naming another are refused).
        #[arg(long)]
        jurisdiction: Option<String>,
        /// The server's public origin as browsers see it (e.g. https://xuncha.example.cn behind a
        /// proxy): changes with the session cookie must come from it; TileJSON and style URLs
        /// use it; https turns on HSTS and Secure cookies.
        #[arg(long, value_parser = xuncha::config::normalize_public_url)]
        public_url: Option<String>,
        /// Believe X-Forwarded-For/-Proto/-Host from the reverse proxy in front of the server.
        #[arg(long)]
        trust_proxy: bool,
        /// Seconds a client has to send a request's headers.
        #[arg(long, default_value_t = 15.0, value_parser = seconds)]
        header_timeout: f64,
        /// Seconds a client has to send a whole request body.
        #[arg(long, default_value_t = 120.0, value_parser = seconds)]
        body_timeout: f64,
        /// Seconds an idle keep-alive connection is kept (and a stalled response write waits).
        #[arg(long, default_value_t = 60.0, value_parser = seconds)]
        idle_timeout: f64,
        /// Most connections open at once.
        #[arg(long, default_value_t = 4096)]
        max_connections: usize,
        /// Password checks run at once (19 MiB of memory each).
        #[arg(long, default_value_t = 2)]
        login_concurrency: usize,
        /// Seconds before the first retry of a failed webhook delivery (doubling each time, for
        /// a day).
        #[arg(long, default_value_t = 5.0, value_parser = seconds)]
        webhook_retry: f64,
        /// Metres between a photo's EXIF position and the report's pin above which the phone
        /// asks which one is right.
        #[arg(long, default_value_t = 100.0)]
        exif_warn_m: f64,
        /// Slivers between neighbouring zones of the same kind narrower than this many metres
        /// are reported as gaps while drawing.
        #[arg(long, default_value_t = 1.0)]
        gap_width_m: f64,
        /// Screen pixels within which the planner's cursor snaps to existing zones (0: off).
        #[arg(long, default_value_t = 10.0)]
        snap_px: f64,
        /// Most reports a vector tile at z14 and above carries as single points; a denser tile
        /// carries count bins instead (100 to 1 000 000).
        #[arg(long, default_value_t = xuncha::tileset::DEFAULT_MAX_POINTS)]
        tile_max_points: usize,
    },
    /// Import zones from a GeoJSON file.
    Import {
        file: PathBuf,
        /// Kind for features without a `kind` property.
        #[arg(long)]
        kind: Option<ZoneKind>,
        /// Import nothing if any feature is rejected.
        #[arg(long)]
        strict: bool,
    },
    /// Write live zones as GeoJSON to standard output.
    Export {
        #[arg(long)]
        kind: Option<ZoneKind>,
    },
    /// Match `lon,lat` lines of a CSV file (`-` for standard input) to zones; CSV to standard output.
    Match { points: PathBuf },
    /// Vector tiles for offline use.
    Tiles {
        #[command(subcommand)]
        command: TilesCommand,
    },
    /// Copy a whole deployment into an empty database (SQLite folder or postgres:// URL) and
    /// verify it; photo files stay in the data folder.
    Migrate {
        /// Where the data is now: a data folder (SQLite) or a postgres:// URL.
        #[arg(long)]
        from: String,
        /// The empty database to copy into: a postgres:// URL or a data folder.
        #[arg(long)]
        to: String,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens (for scripts and other systems).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Make a consistent copy of the database and the photos while the server runs (SQLite).
    Backup {
        /// An empty or new folder to write the copy to.
        dest: PathBuf,
    },
    /// Check a backup and restore it into an empty data folder (`--data`).
    Restore {
        /// A folder written by `xuncha backup`.
        src: PathBuf,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// List API tokens: id, user, name, created, expires.
    List,
    /// Make a named token for a user; prints the token once, as the last line.
    Create {
        user: String,
        #[arg(long)]
        name: String,
        /// Days until it expires (default: never).
        #[arg(long)]
        days: Option<i64>,
    },
    /// Revoke a token by its id (from `token list`): it stops working at once.
    Revoke { id: String },
}

#[derive(Subcommand)]
enum TilesCommand {
    /// Write a PMTiles v3 archive of the zones, routes and basemap layers.
    Export {
        out: PathBuf,
        #[arg(long, default_value_t = 0)]
        minzoom: u8,
        #[arg(long, default_value_t = 16)]
        maxzoom: u8,
        /// minLon,minLat,maxLon,maxLat (default: all zones and the basemap).
        #[arg(long, value_parser = parse_bbox)]
        bbox: Option<Bbox>,
        /// Folder of the basemap data.
        #[arg(long, default_value = "geodata/baishan")]
        geodata: PathBuf,
    },
}

fn seconds(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0 && *v <= 86_400.0)
        .ok_or_else(|| format!("{s:?} is not a number of seconds between 0 and 86400"))
}

fn parse_bbox(s: &str) -> Result<Bbox, String> {
    Bbox::parse(s).map_err(|p| p.message)
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; prints an API token as the last line.
    Add {
        name: String,
        #[arg(long)]
        role: Role,
        /// Password for signing in. Visible to other users of the machine (`ps`) and kept in
        /// shell history: prefer the prompt (a terminal) or standard input (the first line).
        #[arg(long, conflicts_with = "generate_password")]
        password: Option<String>,
        /// Make a random password and print it.
        #[arg(long)]
        generate_password: bool,
        /// For `--role unit`: the organisation (owner name) the user answers for.
        #[arg(long)]
        owner: Option<String>,
        /// For `--role office`: the zone (street office or community) the user acts in.
        #[arg(long)]
        scope: Option<String>,
    },
    /// List users with role, binding and whether disabled.
    List,
    /// Disable a user: their sessions and tokens stop working at once.
    Disable {
        name: String,
        /// Enable the user again instead.
        #[arg(long)]
        enable: bool,
    },
    /// Set a new password (typed at the prompt, or the first line of standard input); signs
    /// the user out everywhere.
    Passwd {
        name: String,
        /// Make a random password and print it.
        #[arg(long)]
        generate_password: bool,
    },
}

/// A new password: typed twice at a terminal (not echoed), or the first line of standard input.
fn read_password(name: &str) -> anyhow::Result<String> {
    use std::io::{BufRead, IsTerminal};
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("password for {name}: "))?;
        let again = rpassword::prompt_password("again: ")?;
        if first != again {
            anyhow::bail!("the two passwords differ; nothing was created");
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let pw = line.trim_end_matches(['\n', '\r']).to_string();
    if pw.is_empty() {
        anyhow::bail!("no password: type it at the prompt, send it as the first line of standard input, or use --generate-password");
    }
    Ok(pw)
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "xuncha=info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut config = Config {
        data_dir: cli.data.clone(),
        database: cli.database.clone(),
        photos: cli.photos.clone(),
        ..Config::default()
    };
    match cli.command {
        Command::Serve {
            addr,
            demo,
            geodata,
            web,
            public_zones,
            public_map,
            jurisdiction,
            public_url,
            trust_proxy,
            header_timeout,
            body_timeout,
            idle_timeout,
            max_connections,
            login_concurrency,
            webhook_retry,
            exif_warn_m,
            gap_width_m,
            snap_px,
            tile_max_points,
        } => {
            config.webhook_retry_base_ms = (webhook_retry * 1000.0).round() as i64;
            if !(exif_warn_m.is_finite() && exif_warn_m > 0.0) {
                anyhow::bail!("--exif-warn-m must be a positive number of metres");
            }
            config.exif_warn_m = exif_warn_m;
            if !(gap_width_m.is_finite() && gap_width_m > 0.0 && gap_width_m <= 100.0) {
                anyhow::bail!("--gap-width-m must be a number of metres above 0 and at most 100");
            }
            config.gap_width_m = gap_width_m;
            if !(snap_px.is_finite() && (0.0..=100.0).contains(&snap_px)) {
                anyhow::bail!("--snap-px must be between 0 and 100 pixels");
            }
            config.snap_px = snap_px;
            if !(100..=1_000_000).contains(&tile_max_points) {
                anyhow::bail!("--tile-max-points must be between 100 and 1000000 reports");
            }
            config.tile_max_points = tile_max_points;
            if demo && !addr.ip().is_loopback() {
                anyhow::bail!(
                    "--demo has well-known passwords and only binds a loopback address (like 127.0.0.1), not {addr}"
                );
            }
            config.web_dir = web;
            config.geodata_dir = geodata.clone();
            config.public_zones = public_zones;
            config.public_map = public_map;
            config.open311_jurisdiction_id = jurisdiction;
            config.public_url = public_url;
            config.trust_proxy = trust_proxy;
            config.header_timeout = Duration::from_secs_f64(header_timeout);
            config.body_timeout = Duration::from_secs_f64(body_timeout);
            config.idle_timeout = Duration::from_secs_f64(idle_timeout);
            config.max_connections = max_connections;
            config.login_concurrency = login_concurrency;
            let state = App::open(config)?;
            if demo {
                if xuncha::demo::load(&state, &geodata).await? {
                    eprintln!("Loaded the Baishan demo city. Sign in as patrol / office / chengnan / unit / planner / admin (passwords: NAME-2026, see README).");
                } else {
                    eprintln!("The data folder already has data; serving it as it is.");
                }
            }
            if !addr.ip().is_loopback() {
                let exposed = xuncha::demo::exposed_accounts(&state)?;
                if !exposed.is_empty() {
                    anyhow::bail!(
                        "this data was loaded with --demo and the demo accounts {} still have their public passwords; it is served on loopback addresses only, not {addr}. Change their passwords (xuncha user passwd NAME) or disable them (xuncha user disable NAME) first",
                        exposed.join(", ")
                    );
                }
            }
            let listener = tokio::net::TcpListener::bind(addr).await?;
            eprintln!("Xuncha is listening on http://{}", listener.local_addr()?);
            xuncha::run(listener, state, xuncha::shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { file, kind, strict } => {
            let state = App::open(config)?;
            let report =
                xuncha::cli::import(&state, &file, kind, strict, "cli", Indexing::StoreOnly)
                    .await?;
            for e in &report.rejected {
                let id =
                    e.id.as_deref()
                        .map(|i| format!(" ({i})"))
                        .unwrap_or_default();
                let at = e
                    .location
                    .map(|[x, y]| format!(" at [{x}, {y}]"))
                    .unwrap_or_default();
                println!("rejected feature {}{id}: {}{at}", e.index, e.reason);
            }
            let imported = if strict && !report.rejected.is_empty() {
                0
            } else {
                report.imported
            };
            println!("imported {imported}, rejected {}", report.rejected.len());
            if strict && !report.rejected.is_empty() {
                println!("--strict: nothing was imported");
            }
            Ok(if report.rejected.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Export { kind } => {
            let state = App::open(config)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let n = xuncha::cli::export(&state, kind, &mut out)?;
            eprintln!("exported {n} zones");
            Ok(ExitCode::SUCCESS)
        }
        Command::Match { points } => {
            let state = App::open(config)?;
            let index = state.zones.index();
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
            let n = if points.as_os_str() == "-" {
                xuncha::cli::match_csv(&index, std::io::stdin().lock(), &mut out)?
            } else {
                let f = std::fs::File::open(&points)
                    .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", points.display()))?;
                xuncha::cli::match_csv(
                    &index,
                    std::io::BufReader::with_capacity(1 << 16, f),
                    &mut out,
                )?
            };
            eprintln!("matched {n} points against {} zones", index.len());
            Ok(ExitCode::SUCCESS)
        }
        Command::Tiles {
            command:
                TilesCommand::Export {
                    out,
                    minzoom,
                    maxzoom,
                    bbox,
                    geodata,
                },
        } => {
            config.geodata_dir = geodata;
            let state = App::open(config)?;
            let s = xuncha::tileset::export::export_pmtiles(
                &state, &out, minzoom, maxzoom, bbox, true,
            )?;
            println!(
                "wrote {} tiles ({} visited, z{minzoom}–{maxzoom}) to {}: {} bytes in {:.2} s",
                s.tiles_written,
                s.tiles_visited,
                out.display(),
                s.bytes,
                s.seconds
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { from, to } => {
            let bar = indicatif::ProgressBar::new(0).with_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} rows ({per_sec}, {eta} left)",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let b = bar.clone();
            let data = cli.data.clone();
            // The stores' blocking clients must not run on this async thread.
            let summary = std::thread::spawn(move || {
                xuncha::migrate::migrate(
                    &xuncha::migrate::location(&from),
                    &xuncha::migrate::location(&to),
                    &data,
                    &mut move |done, total| {
                        b.set_length(total);
                        b.set_position(done);
                    },
                )
            })
            .join()
            .map_err(|_| anyhow::anyhow!("the migration thread panicked"))??;
            bar.finish_and_clear();
            let rows: u64 = summary.tables.iter().map(|t| t.1).sum();
            for (t, n) in &summary.tables {
                println!("{t:<18} {n:>9} rows");
            }
            println!(
                "copied and verified {rows} rows (counts and SHA-256 of every table) in {:.1} s",
                summary.seconds
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::User { command } => user_command(config, command),
        Command::Token { command } => {
            let state = App::open(config)?;
            let actor = xuncha::audit::Actor::system("cli");
            match command {
                TokenCommand::List => {
                    println!(
                        "{:<12}  {:<16} {:<24} {:<24} expires",
                        "id", "user", "name", "created"
                    );
                    for t in xuncha::accounts::list_tokens(&state)? {
                        println!(
                            "{:<12}  {:<16} {:<24} {:<24} {}",
                            t.id,
                            t.username,
                            t.name.unwrap_or_default(),
                            t.created_at,
                            t.expires_at.unwrap_or_else(|| "never".into())
                        );
                    }
                }
                TokenCommand::Create { user, name, days } => {
                    let (token, id) =
                        xuncha::accounts::create_token(&state, &actor, &user, &name, days)?;
                    println!("created token {id} for {user}");
                    println!("{token}");
                }
                TokenCommand::Revoke { id } => {
                    if !xuncha::accounts::revoke_token(&state, &actor, &id)? {
                        anyhow::bail!(
                            "there is no API token {id:?} (xuncha token list shows them)"
                        );
                    }
                    println!("revoked token {id}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { dest } => {
            let state = App::open(config)?;
            let b = xuncha::backup::backup(&state, &dest)?;
            println!(
                "backed up {} reports and {} photo files ({:.1} MB) to {} in {:.1} s",
                b.reports,
                b.photos,
                b.bytes as f64 / 1e6,
                dest.display(),
                b.seconds
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { src } => {
            let r = xuncha::backup::restore(&src, &config.data_dir)?;
            println!(
                "restored {} reports and {} photo files into {} (integrity check ok)",
                r.reports,
                r.photos,
                config.data_dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `xuncha user …`: accounts made and changed from the command line go through the same
/// service as the admin API (password policy, bindings checked, audited as `cli`).
fn user_command(config: Config, command: UserCommand) -> anyhow::Result<ExitCode> {
    use xuncha::accounts::{self, AccountPatch, NewAccount};
    let actor = xuncha::audit::Actor::system("cli");
    let new_password = |name: &str, generate: bool| -> anyhow::Result<(String, bool)> {
        Ok(if generate {
            (xuncha::auth::new_password(), true)
        } else {
            (read_password(name)?, false)
        })
    };
    match command {
        UserCommand::Add {
            name,
            role,
            password,
            generate_password,
            owner,
            scope,
        } => {
            let (pw, generated) = match password {
                Some(p) => {
                    eprintln!("warning: a password on the command line is visible to other users (ps) and kept in shell history; type it at the prompt or pipe it on standard input instead");
                    (p, false)
                }
                None => new_password(&name, generate_password)?,
            };
            let state = App::open(config)?;
            let (user, token) = accounts::create(
                &state,
                &actor,
                NewAccount {
                    username: name,
                    role,
                    password: pw.clone(),
                    owner,
                    scope,
                    with_token: true,
                },
            )?;
            let bound = match (&user.owner, &user.scope) {
                (Some(o), _) => format!(" for {o}"),
                (_, Some(z)) => format!(" in zone {z}"),
                _ => String::new(),
            };
            println!(
                "created user {} with role {}{bound}",
                user.username, user.role
            );
            if generated {
                println!("password: {pw}");
            }
            println!("{}", token.unwrap_or_default());
        }
        UserCommand::List => {
            let state = App::open(config)?;
            let list = accounts::list(&state)?;
            println!(
                "{:>5}  {:<20} {:<8} {:<9} binding",
                "id", "username", "role", "state"
            );
            for a in list {
                let binding = match (&a.user.owner, &a.user.scope) {
                    (Some(o), _) => format!("owner {o}"),
                    (_, Some(z)) => format!("scope {z}"),
                    _ => String::new(),
                };
                println!(
                    "{:>5}  {:<20} {:<8} {:<9} {binding}",
                    a.user.id,
                    a.user.username,
                    a.user.role.as_str(),
                    if a.disabled { "disabled" } else { "active" },
                );
            }
        }
        UserCommand::Disable { name, enable } => {
            let state = App::open(config)?;
            let id = accounts::id_of(&state, &name)?;
            let patch = AccountPatch {
                disabled: Some(!enable),
                ..Default::default()
            };
            accounts::update(&state, &actor, id, patch)?;
            println!(
                "{} user {name}",
                if enable { "enabled" } else { "disabled" }
            );
        }
        UserCommand::Passwd {
            name,
            generate_password,
        } => {
            let (pw, generated) = new_password(&name, generate_password)?;
            let state = App::open(config)?;
            let id = accounts::id_of(&state, &name)?;
            accounts::set_password(&state, &actor, id, &pw, None)?;
            println!("changed the password of {name}; their sessions ended");
            if generated {
                println!("password: {pw}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
