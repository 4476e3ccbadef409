//! Report statistics: counts by status, median time to close and the share closed within 48 h,
//! grouped by zone, owner, sector, category or day.
//!
//! A zone's or owner's numbers follow the match stored with each report at submission (the
//! `report_zones` rows and `responsible`), never today's geometry. One pass over a covering index
//! of the fact tables (see `store::stats`) feeds the accumulators; medians are exact.

use crate::report::{Category, Status};
use crate::store::rollups::{self, tenth_of, Cats, DayRow, Dim, CLOSED_WITHIN_MS, TENTH_MS};
use crate::store::stats::{self as sql, FactKey, FactRow, ReportFilter, Within};
use crate::store::Conn;
use crate::store::Result;
use serde::Serialize;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::str::FromStr;

use crate::time::{city_day, city_midnight, DAY_MS};
/// Most day rows one answer fills in (ten years).
const MAX_DAYS: i64 = 3660;

/// What the rows of a statistic are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// One row per stored zone match (a report matched to two zones counts in both).
    Zone,
    /// One row per stored responsible owner.
    Owner,
    /// One row per sector (六域) of the stored responsible owner.
    Sector,
    Category,
    /// One row per local calendar day of `created_at`, gaps filled with zero rows.
    Day,
}

impl GroupBy {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Zone => "zone",
            GroupBy::Owner => "owner",
            GroupBy::Sector => "sector",
            GroupBy::Category => "category",
            GroupBy::Day => "day",
        }
    }
}

impl FromStr for GroupBy {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        [
            GroupBy::Zone,
            GroupBy::Owner,
            GroupBy::Sector,
            GroupBy::Category,
            GroupBy::Day,
        ]
        .into_iter()
        .find(|g| g.as_str() == s)
        .ok_or_else(|| {
            format!("group={s:?} is not known; use one of zone, owner, sector, category, day")
        })
    }
}

/// A statistics request.
#[derive(Debug, Clone)]
pub struct StatsQuery {
    pub group: GroupBy,
    pub filter: ReportFilter,
    /// Zone kind (`group=zone` only); `None`: every kind.
    pub zone_kind: Option<crate::zone::ZoneKind>,
    /// Offset of the city's local time from UTC, seconds; days start at local midnight.
    pub utc_offset_s: i32,
}

/// Counts of one group (or of all reports, for the totals).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Counts {
    /// Reports in the group.
    pub total: u64,
    /// Per status, every status present (zero when none).
    pub by_status: std::collections::BTreeMap<&'static str, u64>,
    /// Reported, dispatched, in progress or reopened: still waiting for work on the ground.
    pub open: u64,
    /// Median hours from filing (`created_at`) to the last close, over the reports now
    /// `closed`; `None` when none is.
    pub median_close_hours: Option<f64>,
    /// Reports now closed whose close came within 48 h of filing.
    pub closed_within_48h: u64,
    /// `closed_within_48h / (total - rejected)`; `None` when that is 0/0.
    pub closed_within_48h_share: Option<f64>,
    /// Reports whose current stage is past its time limit (工作时限).
    pub overdue: u64,
    /// Share of the reports (rejected ones aside) none of whose stages ran late; `None` when
    /// there are none.
    pub on_time_share: Option<f64>,
}

/// One row of a statistic.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StatsRow {
    /// Zone id, owner name, sector, category id or `YYYY-MM-DD`; `null` for reports without a
    /// responsible owner.
    pub key: Option<String>,
    /// What a person reads: zone name, owner name, zh-CN sector or category label, the date.
    pub label: String,
    /// `group=zone`: the zone's kind; `group=owner`: nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `group=zone`: the zone's owner, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(flatten)]
    pub counts: Counts,
}

/// The answer to a statistics request.
#[derive(Debug, Clone, Serialize)]
pub struct StatsTable {
    pub group: GroupBy,
    pub rows: Vec<StatsRow>,
    /// Over every report matching the filters, each counted once (also for `group=zone`, where
    /// a report may sit in several rows).
    pub totals: Counts,
}

#[derive(Default, Clone)]
struct Acc {
    by_status: [u64; 7],
    within_48h: u64,
    /// Not rejected and some stage ran late.
    late: u64,
    overdue: u64,
    closes: Closes,
}

/// Times from filing to close, by the tenth of an hour they round to (see
/// [`crate::store::rollups`]): enough for the exact median as printed.
#[derive(Default, Clone)]
struct Closes(HashMap<i64, Bucket, BuildHasherDefault<TenthHasher>>);

/// A hasher for bucket numbers: one multiplication (the default hasher is several times slower,
/// and a statistic over a year adds hundreds of thousands of buckets).
#[derive(Default)]
struct TenthHasher(u64);

impl Hasher for TenthHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_i64(&mut self, v: i64) {
        self.0 = (v as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

#[derive(Clone, Copy)]
struct Bucket {
    n: u64,
    /// The shortest and longest duration in the bucket, when `exact`.
    min_ms: i64,
    max_ms: i64,
    /// Whether every duration counted in `n` was seen (a roll-up gives counts only).
    exact: bool,
}

/// Asks the facts for the longest duration in one bucket of the group and the shortest in
/// another.
type Extreme<'a> = dyn FnMut(i64, i64) -> Result<(i64, i64)> + 'a;

impl Closes {
    fn add(&mut self, tenth: i64, n: u64, min_ms: i64, max_ms: i64, exact: bool) {
        let b = self.0.entry(tenth).or_insert(Bucket {
            n: 0,
            min_ms,
            max_ms,
            exact: true,
        });
        b.n += n;
        b.min_ms = b.min_ms.min(min_ms);
        b.max_ms = b.max_ms.max(max_ms);
        b.exact &= exact;
    }

    /// One duration, seen.
    fn add_one(&mut self, d: i64) {
        self.add(tenth_of(d), 1, d, d, true);
    }

    /// A packed roll-up histogram: counts without their durations.
    fn add_packed(&mut self, hist: &[u8]) {
        for (t, n) in rollups::hist::decode(hist) {
            self.add(t, n, i64::MAX, i64::MIN, false);
        }
    }

    fn merge(&mut self, o: &Closes) {
        for (t, b) in &o.0 {
            self.add(*t, b.n, b.min_ms, b.max_ms, b.exact);
        }
    }

    /// The median in tenths of an hour, rounded half up: the middle duration's bucket, or for an
    /// even count the mean of the two middle durations. Where those fall in two buckets whose
    /// durations were not all seen, `extreme` reads the two from the facts.
    fn median_tenths(&self, extreme: &mut Extreme) -> Result<Option<i64>> {
        let n: u64 = self.0.values().map(|b| b.n).sum();
        if n == 0 {
            return Ok(None);
        }
        let mut tenths: Vec<(i64, Bucket)> = self.0.iter().map(|(t, b)| (*t, *b)).collect();
        tenths.sort_unstable_by_key(|(t, _)| *t);
        // The bucket holding the duration at 0-based position `i`.
        let at = |i: u64| {
            let mut seen = 0;
            for (t, b) in &tenths {
                seen += b.n;
                if i < seen {
                    return (*t, *b);
                }
            }
            tenths[tenths.len() - 1]
        };
        let (hi_t, hi) = at(n / 2);
        if n % 2 == 1 {
            return Ok(Some(hi_t));
        }
        let (lo_t, lo) = at(n / 2 - 1);
        if lo_t == hi_t {
            // Both lie within the bucket's half-tenth either side, and so does their mean.
            return Ok(Some(hi_t));
        }
        // The lower middle is the longest of its bucket, the upper the shortest of its own.
        let (lo_max, hi_min) = if lo.exact && hi.exact {
            (lo.max_ms, hi.min_ms)
        } else {
            extreme(lo_t, hi_t)?
        };
        Ok(Some((lo_max + hi_min + TENTH_MS).div_euclid(2 * TENTH_MS)))
    }
}

/// An [`Extreme`] for accumulators fed by fact rows only, whose buckets are all exact.
fn all_seen(_: i64, _: i64) -> Result<(i64, i64)> {
    Err(crate::store::StoreError::Corrupt(
        "a close-time bucket from the facts lacks its durations".into(),
    ))
}

/// The [`Extreme`] of the reports matching `f` and `within`.
fn from_facts<'a>(
    conn: &'a dyn Conn,
    f: &'a ReportFilter,
    within: Within<'a>,
) -> impl FnMut(i64, i64) -> Result<(i64, i64)> + 'a {
    move |lo, hi| {
        // The roll-ups counted reports in these buckets, so the facts hold them; if they ever
        // disagree, a bucket's middle stands in, and the log says so.
        let (l, h) = sql::close_ends(conn, f, within, lo, hi)?;
        if l.is_none() || h.is_none() {
            tracing::warn!(
                lo,
                hi,
                ?within,
                "statistics: a close-time bucket of the roll-ups has no report in the facts; \
                 its middle stands in (rebuild the roll-ups by marking them unbuilt)"
            );
        }
        Ok((l.unwrap_or(lo * TENTH_MS), h.unwrap_or(hi * TENTH_MS)))
    }
}

fn status_ix(s: &str) -> Option<usize> {
    Status::ALL.iter().position(|x| x.as_str() == s)
}

impl Acc {
    fn add(&mut self, r: &FactRow) {
        let Some(ix) = status_ix(r.status) else {
            return;
        };
        self.by_status[ix] += 1;
        if r.late && Status::ALL[ix] != Status::Rejected {
            self.late += 1;
        }
        if r.overdue && Status::ALL[ix].is_open() {
            self.overdue += 1;
        }
        if Status::ALL[ix] == Status::Closed {
            if let Some(c) = r.closed_at {
                let d = (c - r.created_at).max(0);
                self.closes.add_one(d);
                if d <= CLOSED_WITHIN_MS {
                    self.within_48h += 1;
                }
            }
        }
    }

    /// A roll-up row: `n` reports of one day, category and status.
    fn add_day(&mut self, r: &DayRow) {
        let Some(ix) = status_ix(r.status) else {
            return;
        };
        self.by_status[ix] += r.n as u64;
        if Status::ALL[ix] != Status::Rejected {
            self.late += r.late as u64;
        }
        if Status::ALL[ix].is_open() {
            self.overdue += r.overdue as u64;
        }
        if Status::ALL[ix] == Status::Closed {
            self.within_48h += r.within_48h as u64;
        }
    }

    fn merge(&mut self, o: &Acc) {
        for i in 0..7 {
            self.by_status[i] += o.by_status[i];
        }
        self.within_48h += o.within_48h;
        self.late += o.late;
        self.overdue += o.overdue;
        self.closes.merge(&o.closes);
    }

    fn finish(self, extreme: &mut Extreme) -> Result<Counts> {
        let total: u64 = self.by_status.iter().sum();
        let rejected = self.by_status[status_ix("rejected").unwrap_or(5)];
        let open = Status::ALL
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_open())
            .map(|(i, _)| self.by_status[i])
            .sum();
        let considered = total - rejected;
        Ok(Counts {
            total,
            by_status: Status::ALL
                .iter()
                .enumerate()
                .map(|(i, s)| (s.as_str(), self.by_status[i]))
                .collect(),
            open,
            median_close_hours: self.closes.median_tenths(extreme)?.map(|t| t as f64 / 10.0),
            closed_within_48h: self.within_48h,
            closed_within_48h_share: (considered > 0)
                .then(|| (self.within_48h as f64 / considered as f64 * 1000.0).round() / 1000.0),
            overdue: self.overdue,
            on_time_share: (considered > 0).then(|| {
                ((considered - self.late) as f64 / considered as f64 * 1000.0).round() / 1000.0
            }),
        })
    }
}

/// What the rows of a pass are keyed by.
#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    /// The stored owner or sector (`""`: none).
    Key,
    Category,
    Day,
    /// One row: every report.
    One,
}

/// The accumulators of one pass, by key or by local day.
#[derive(Default)]
struct Groups {
    keyed: HashMap<String, Acc>,
    days: HashMap<i64, Acc>,
}

impl Groups {
    fn acc(&mut self, by: By, key: &str, category: &str, day: i64) -> &mut Acc {
        let k = match by {
            By::Day => return self.days.entry(day).or_default(),
            By::Key => key,
            By::Category => category,
            By::One => "",
        };
        // Look up by &str first: a String per row would allocate.
        if !self.keyed.contains_key(k) {
            self.keyed.insert(k.to_string(), Acc::default());
        }
        self.keyed.get_mut(k).expect("just inserted")
    }
}

/// The whole local days inside `f`'s window (at `offset_ms`), and the filters of what is left
/// at its two ends; `None` when the window holds no whole day.
fn whole_days(f: &ReportFilter, offset_ms: i64) -> Option<((i64, i64), Vec<ReportFilter>)> {
    // Days, far beyond any report (and times DAY_MS still far from overflow).
    const FAR: i64 = 1 << 30;
    let first = f
        .since
        .map(|s| (s + offset_ms + DAY_MS - 1).div_euclid(DAY_MS))
        .unwrap_or(-FAR);
    let last = f.until.map(|u| city_day(u, offset_ms) - 1).unwrap_or(FAR);
    if first > last {
        return None;
    }
    let mut edges = Vec::new();
    let start = city_midnight(first, offset_ms);
    let end = city_midnight(last + 1, offset_ms);
    if let Some(s) = f.since.filter(|s| *s < start) {
        edges.push(ReportFilter {
            since: Some(s),
            until: Some(start),
            ..f.clone()
        });
    }
    if let Some(u) = f.until.filter(|u| *u > end) {
        edges.push(ReportFilter {
            since: Some(end),
            until: Some(u),
            ..f.clone()
        });
    }
    Some(((first, last), edges))
}

/// One pass over every report `q` selects, into `groups` keyed by `by`: the roll-ups of `dim`
/// for the whole days of the window and the fact rows for the hours at its ends when the
/// roll-ups can answer (every report visible, days cut at the query's offset), else the fact
/// rows alone.
///
/// Owners have no roll-ups (`dim` is `None`): thousands of owners over a year's days make about
/// as many roll-up rows as reports, and reading those was slower than reading the facts.
fn feed(
    conn: &dyn Conn,
    q: &StatsQuery,
    dim: Option<Dim>,
    by: By,
    groups: &mut Groups,
) -> Result<()> {
    let offset_ms = q.utc_offset_s as i64 * 1000;
    let visible_all = matches!(q.filter.visibility, crate::scope::Visibility::All);
    let split = match dim {
        Some(dim) if visible_all && rollups::built_offset(conn)? == Some(offset_ms) => {
            whole_days(&q.filter, offset_ms).map(|s| (dim, s))
        }
        _ => None,
    };
    let facts = match split {
        None => vec![q.filter.clone()],
        Some((dim, (days, edges))) => {
            let categories: Vec<&str> = q.filter.categories.iter().map(|c| c.as_str()).collect();
            let categories = match (categories.is_empty(), by) {
                (false, _) => Cats::Only(&categories),
                (true, By::Category) => Cats::Each,
                // Not grouped or filtered by category: the sums over them.
                (true, _) => Cats::Any,
            };
            let statuses: Vec<&str> = q.filter.statuses.iter().map(|s| s.as_str()).collect();
            rollups::scan_days(conn, dim, days, categories, &statuses, &mut |r| {
                groups.acc(by, r.key, r.category, r.day).add_day(&r)
            })?;
            if statuses.is_empty() || statuses.contains(&Status::Closed.as_str()) {
                let per_day = by == By::Day;
                rollups::scan_closes(conn, dim, days, categories, per_day, &mut |r| {
                    groups
                        .acc(by, r.key, r.category, r.day)
                        .closes
                        .add_packed(r.hist)
                })?;
            }
            edges
        }
    };
    let key = match (by, dim) {
        (By::Key, Some(Dim::Sector)) => FactKey::Sector,
        (By::Key, _) => FactKey::Owner,
        _ => FactKey::None,
    };
    for f in &facts {
        sql::scan_reports(conn, f, key, |r| {
            let day = city_day(r.created_at, offset_ms);
            groups.acc(by, r.key.unwrap_or(""), r.category, day).add(&r)
        })?;
    }
    Ok(())
}

/// Computes a statistic.
/// [`compute`] on a read connection of `store`, off the async runtime.
pub async fn table(store: &crate::store::Store, q: StatsQuery) -> Result<StatsTable> {
    store.read(move |c| compute(c, &q)).await
}

pub fn compute(conn: &dyn Conn, q: &StatsQuery) -> Result<StatsTable> {
    let mut by_key: HashMap<Option<String>, Acc> = HashMap::new();
    let mut by_day: HashMap<i64, Acc> = HashMap::new();
    let mut totals = Acc::default();
    let offset_ms = q.utc_offset_s as i64 * 1000;
    let mut groups = Groups::default();
    match q.group {
        GroupBy::Zone => {
            // A string key per row would allocate; look up by &str first.
            let mut zones: HashMap<String, Acc> = HashMap::new();
            sql::scan_zone_matches(conn, &q.filter, q.zone_kind.map(|k| k.as_str()), |r| {
                let k = r.key.unwrap_or("");
                match zones.get_mut(k) {
                    Some(a) => a.add(&r),
                    None => {
                        let mut a = Acc::default();
                        a.add(&r);
                        zones.insert(k.to_string(), a);
                    }
                }
            })?;
            by_key = zones.into_iter().map(|(k, a)| (Some(k), a)).collect();
            feed(conn, q, Some(Dim::All), By::One, &mut groups)?;
            totals = groups.keyed.remove("").unwrap_or_default();
        }
        GroupBy::Owner | GroupBy::Sector => {
            let dim = (q.group == GroupBy::Sector).then_some(Dim::Sector);
            feed(conn, q, dim, By::Key, &mut groups)?;
            // An empty key is a report without a responsible owner.
            by_key = groups
                .keyed
                .into_iter()
                .map(|(k, a)| ((!k.is_empty()).then_some(k), a))
                .collect();
        }
        GroupBy::Category => {
            feed(conn, q, Some(Dim::All), By::Category, &mut groups)?;
            by_key = groups
                .keyed
                .into_iter()
                .map(|(k, a)| (Some(k), a))
                .collect();
        }
        GroupBy::Day => {
            feed(conn, q, Some(Dim::All), By::Day, &mut groups)?;
            by_day = groups.days;
        }
    }
    if q.group != GroupBy::Zone {
        for a in by_key.values().chain(by_day.values()) {
            totals.merge(a);
        }
    }
    let mut rows: Vec<StatsRow> = Vec::new();
    if q.group == GroupBy::Day {
        let first = q
            .filter
            .since
            .map(|s| city_day(s, offset_ms))
            .or_else(|| by_day.keys().min().copied());
        // Without `until` the days run to today, so a chart shows the quiet days up to now.
        let today = city_day(crate::time::now_ms(), offset_ms);
        let last = q
            .filter
            .until
            .map(|u| city_day(u - 1, offset_ms))
            .or_else(|| by_day.keys().max().map(|d| (*d).max(today)));
        if let (Some(first), Some(last)) = (first, last) {
            let first = first.max(last - MAX_DAYS + 1);
            for d in first..=last {
                let date = day_string(d);
                // The facts of this day within the window.
                let start = city_midnight(d, offset_ms);
                let day = ReportFilter {
                    since: Some(q.filter.since.map_or(start, |s| s.max(start))),
                    until: Some(
                        q.filter
                            .until
                            .map_or(start + DAY_MS, |u| u.min(start + DAY_MS)),
                    ),
                    ..q.filter.clone()
                };
                let acc = by_day.remove(&d).unwrap_or_default();
                rows.push(StatsRow {
                    key: Some(date.clone()),
                    label: date,
                    kind: None,
                    owner: None,
                    counts: acc.finish(&mut from_facts(conn, &day, Within::All))?,
                });
            }
        }
    } else {
        let labels = if q.group == GroupBy::Zone {
            let ids: Vec<String> = by_key.keys().flatten().cloned().collect();
            sql::zone_labels(conn, &ids)?
        } else {
            HashMap::new()
        };
        for (key, acc) in by_key {
            let k = key.as_deref().unwrap_or("");
            let counts = match q.group {
                // Zone rows come from the facts alone.
                GroupBy::Zone => acc.finish(&mut all_seen)?,
                GroupBy::Category => {
                    acc.finish(&mut from_facts(conn, &q.filter, Within::Category(k)))?
                }
                GroupBy::Sector => {
                    acc.finish(&mut from_facts(conn, &q.filter, Within::Sector(k)))?
                }
                GroupBy::Owner | GroupBy::Day => {
                    acc.finish(&mut from_facts(conn, &q.filter, Within::Owner(k)))?
                }
            };
            let (label, kind, owner) = match (q.group, &key) {
                (_, None) => ("（无责任单位）".to_string(), None, None),
                (GroupBy::Zone, Some(k)) => match labels.get(k) {
                    Some((name, kind, owner)) => (name.clone(), Some(kind.clone()), owner.clone()),
                    None => (k.clone(), None, None),
                },
                (GroupBy::Sector, Some(k)) => (sector_zh(k).to_string(), None, None),
                (GroupBy::Category, Some(k)) => (
                    k.parse::<Category>()
                        .map(|c| c.label_zh().to_string())
                        .unwrap_or_else(|_| k.clone()),
                    None,
                    None,
                ),
                (_, Some(k)) => (k.clone(), None, None),
            };
            rows.push(StatsRow {
                key,
                label,
                kind,
                owner,
                counts,
            });
        }
        rows.sort_by(|a, b| {
            b.counts
                .total
                .cmp(&a.counts.total)
                .then_with(|| a.key.cmp(&b.key))
        });
    }
    Ok(StatsTable {
        group: q.group,
        rows,
        totals: totals.finish(&mut from_facts(conn, &q.filter, Within::All))?,
    })
}

/// The counts of one stored responsible owner's reports matching `f`.
pub fn owner_counts(conn: &dyn Conn, owner: &str, f: &ReportFilter) -> Result<Counts> {
    let mut acc = Acc::default();
    sql::scan_owner(conn, owner, f, |r| acc.add(&r))?;
    acc.finish(&mut all_seen)
}

/// The zh-CN name of a sector (六域).
pub fn sector_zh(s: &str) -> &str {
    match s {
        "community" => "社区",
        "village" => "乡村",
        "agency" => "机关",
        "enterprise" => "企业",
        "school" => "学校",
        "hospital" => "医院",
        other => other,
    }
}

/// `YYYY-MM-DD` of a day number (days since 1970-01-01).
fn day_string(day: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(day * 86_400)
        .map(|t| format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()))
        .unwrap_or_default()
}

/// The table as CSV for spreadsheets: UTF-8 with a byte-order mark (so Excel reads the Chinese
/// labels right), a header row, CRLF line ends, a totals row last.
pub fn to_csv(t: &StatsTable) -> String {
    let mut out = String::from("\u{feff}");
    let mut header: Vec<String> = vec!["key".into(), "label".into()];
    if t.group == GroupBy::Zone {
        header.extend(["kind".into(), "owner".into()]);
    }
    header.push("total".into());
    header.extend(Status::ALL.iter().map(|s| s.as_str().to_string()));
    header.extend(
        [
            "open",
            "median_close_hours",
            "closed_within_48h",
            "closed_within_48h_share",
            "overdue",
            "on_time_share",
        ]
        .map(String::from),
    );
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    let line = |key: &str, label: &str, extra: Option<(&str, &str)>, c: &Counts| {
        let mut f: Vec<String> = vec![csv_field(key), csv_field(label)];
        if let Some((k, o)) = extra {
            f.extend([csv_field(k), csv_field(o)]);
        }
        f.push(c.total.to_string());
        f.extend(Status::ALL.iter().map(|s| {
            c.by_status
                .get(s.as_str())
                .copied()
                .unwrap_or(0)
                .to_string()
        }));
        f.push(c.open.to_string());
        f.push(
            c.median_close_hours
                .map(|v| v.to_string())
                .unwrap_or_default(),
        );
        f.push(c.closed_within_48h.to_string());
        f.push(
            c.closed_within_48h_share
                .map(|v| v.to_string())
                .unwrap_or_default(),
        );
        f.push(c.overdue.to_string());
        f.push(c.on_time_share.map(|v| v.to_string()).unwrap_or_default());
        f.join(",") + "\r\n"
    };
    let zone = t.group == GroupBy::Zone;
    for r in &t.rows {
        let extra = zone.then(|| {
            (
                r.kind.as_deref().unwrap_or(""),
                r.owner.as_deref().unwrap_or(""),
            )
        });
        out.push_str(&line(
            r.key.as_deref().unwrap_or(""),
            &r.label,
            extra,
            &r.counts,
        ));
    }
    out.push_str(&line("", "合计 total", zone.then_some(("", "")), &t.totals));
    out
}

/// Quotes a CSV field when needed, and defuses a leading `=`, `+`, `-` or `@` so a spreadsheet
/// does not run user text (an owner name) as a formula.
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn closes(ms: &[i64]) -> Closes {
        let mut c = Closes::default();
        for &d in ms {
            c.add_one(d);
        }
        c
    }

    fn median(c: &Closes) -> Option<i64> {
        c.median_tenths(&mut all_seen).unwrap()
    }

    #[test]
    fn the_median_of_the_histogram_is_the_exact_median_rounded_to_tenths() {
        const H: i64 = 3_600_000;
        assert_eq!(median(&closes(&[])), None);
        assert_eq!(median(&closes(&[5 * H])), Some(50));
        assert_eq!(median(&closes(&[9 * H, H, 5 * H])), Some(50));
        // 2.5 h exactly: half up.
        assert_eq!(median(&closes(&[4 * H, H, 3 * H, 2 * H])), Some(25));
        // Two middles in different buckets: 1.04 h and 1.26 h average 1.15 h, which rounds up.
        let (a, b) = (H + 144_000, H + 936_000);
        assert_eq!(median(&closes(&[a, b])), Some(12));
        // In one bucket the mean stays in it.
        assert_eq!(median(&closes(&[H + 1, H + 100_000])), Some(10));
        // Merged from parts, as the day rows are.
        let mut m = closes(&[a, 30 * H]);
        m.merge(&closes(&[b, 0]));
        assert_eq!(median(&m), Some(12));
        // Against a sort, over many random durations.
        let mut x: u64 = 7;
        for n in 1..200 {
            let v: Vec<i64> = (0..n)
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((x >> 33) % (100 * H as u64)) as i64
                })
                .collect();
            let mut s = v.clone();
            s.sort();
            let twice = if n % 2 == 1 {
                2 * s[n / 2]
            } else {
                s[n / 2 - 1] + s[n / 2]
            };
            let want = (twice + TENTH_MS).div_euclid(2 * TENTH_MS);
            assert_eq!(median(&closes(&v)), Some(want), "{n} durations");
            // From counts alone (as the roll-ups give them), half of them packed, the two
            // middles' durations asked for.
            let mut counts = std::collections::BTreeMap::new();
            for d in &v[n / 2..] {
                *counts.entry(tenth_of(*d)).or_insert(0u64) += 1;
            }
            let mut c = closes(&v[..n / 2]);
            c.add_packed(&rollups::hist::encode(counts));
            let mut asked = |lo: i64, hi: i64| -> Result<(i64, i64)> {
                let inside = |t| v.iter().copied().filter(move |d| tenth_of(*d) == t);
                Ok((inside(lo).max().unwrap(), inside(hi).min().unwrap()))
            };
            assert_eq!(
                c.median_tenths(&mut asked).unwrap(),
                Some(want),
                "{n} packed"
            );
        }
    }

    #[test]
    fn csv_quotes_and_defuses() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("白山"), "白山");
    }

    #[test]
    fn days_are_local_dates() {
        assert_eq!(day_string(0), "1970-01-01");
        // 2026-11-30T20:00:00Z is 2026-12-01 in UTC+8.
        let ms = crate::time::parse_rfc3339("2026-11-30T20:00:00Z").unwrap();
        assert_eq!(
            day_string((ms + 8 * 3_600_000).div_euclid(DAY_MS)),
            "2026-12-01"
        );
    }
}
