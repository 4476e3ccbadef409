//! OGC API – Features Part 3 filters: CQL2 text or JSON, parsed by the `cql2` crate, checked
//! against the collection's queryables and compiled into a predicate evaluated on each record.
//!
//! Supported (and declared in `/ogc/conformance`): basic CQL2 (comparisons, `AND`/`OR`/`NOT`,
//! `IS NULL`), `LIKE`/`BETWEEN`/`IN`, `CASEI`, `S_INTERSECTS` with any geometry literal or
//! `BBOX`, and every temporal function on the time columns. Logic is three-valued as CQL2
//! requires: a comparison with a null column is unknown, and only a true filter keeps a record.

use crate::crs::Bbox;
use crate::features::{Field, FieldType, FieldValue, Record};
use crate::time::DAY_MS;
use geo::BoundingRect;
use std::borrow::Cow;

/// The conformance classes of Part 3 and CQL2 this module implements.
pub const CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
];

/// The property name of a feature's geometry in filters.
pub const GEOMETRY: &str = "geometry";

/// Which encoding a `filter` is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Text,
    Json,
}

impl Lang {
    pub fn parse(s: &str) -> Result<Lang, String> {
        match s {
            "cql2-text" => Ok(Lang::Text),
            "cql2-json" => Ok(Lang::Json),
            other => Err(format!(
                "filter-lang={other:?} is not supported; use cql2-text (the default) or cql2-json"
            )),
        }
    }
}

/// A compiled filter.
#[derive(Debug)]
pub struct Filter {
    root: Node,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TOp {
    Before,
    After,
    Meets,
    MetBy,
    Overlaps,
    OverlappedBy,
    Starts,
    StartedBy,
    During,
    Contains,
    Finishes,
    FinishedBy,
    Equals,
    Disjoint,
    Intersects,
}

#[derive(Debug, Clone)]
enum Operand {
    Field(&'static str, FieldType),
    Str(String),
    Num(f64),
    Bool(bool),
    /// Unix ms.
    Time(i64),
    Null,
    /// `CASEI(x)`: compared lower-cased.
    Casei(Box<Operand>),
}

/// A time operand of a temporal function: a time column, or a literal `[start, end]` in Unix ms.
#[derive(Debug, Clone)]
enum Span {
    Field(&'static str),
    Fixed(i64, i64),
}

#[derive(Debug)]
enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Cmp(CmpOp, Operand, Operand),
    Like(Operand, Operand),
    In(Operand, Vec<Operand>),
    IsNull(Operand),
    Between(Operand, Operand, Operand),
    Intersects(Box<geo::Geometry<f64>>),
    Temporal(TOp, Span, Span),
    Const(Option<bool>),
}

/// A value during evaluation.
#[derive(Debug, Clone, PartialEq)]
enum V<'a> {
    Null,
    Str(Cow<'a, str>),
    Num(f64),
    Bool(bool),
    Time(i64),
}

impl Filter {
    /// Parses `text` in `lang` and checks it against `fields` (the collection's queryables).
    pub fn parse(text: &str, lang: Lang, fields: &'static [Field]) -> Result<Filter, String> {
        let expr =
            match lang {
                Lang::Text => cql2::parse_text(text)
                    .map_err(|e| format!("filter is not valid CQL2 text: {e}"))?,
                Lang::Json => cql2::parse_json(text)
                    .map_err(|e| format!("filter is not valid CQL2 JSON: {e}"))?,
            };
        let c = Compiler { fields };
        Ok(Filter {
            root: c.node(&expr)?,
        })
    }

    /// Whether the filter is true of `r`.
    pub fn matches(&self, r: &dyn Record) -> bool {
        eval(&self.root, r) == Some(true)
    }

    /// A bounding box every match must intersect, when the filter says so (to narrow the search
    /// with the R-tree before evaluating it).
    pub fn bbox_hint(&self) -> Option<Bbox> {
        fn hint(n: &Node) -> Option<Bbox> {
            match n {
                Node::Intersects(g) => g
                    .bounding_rect()
                    .map(|r| Bbox::new(r.min().x, r.min().y, r.max().x, r.max().y)),
                Node::And(parts) => parts.iter().find_map(hint),
                _ => None,
            }
        }
        hint(&self.root)
    }
}

struct Compiler {
    fields: &'static [Field],
}

fn arity(op: &str, args: &[Box<cql2::Expr>], n: usize) -> Result<(), String> {
    if args.len() == n {
        Ok(())
    } else {
        Err(format!("{op} takes {n} argument(s), not {}", args.len()))
    }
}

impl Compiler {
    fn field(&self, name: &str) -> Result<&'static Field, String> {
        self.fields.iter().find(|f| f.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.fields.iter().map(|f| f.name).collect();
            format!(
                "{name:?} is not a queryable of this collection; the queryables are {}, {GEOMETRY} and id (see /queryables)",
                names.join(", ")
            )
        })
    }

    fn node(&self, e: &cql2::Expr) -> Result<Node, String> {
        use cql2::Expr as E;
        match e {
            E::Bool(b) => Ok(Node::Const(Some(*b))),
            E::Null => Ok(Node::Const(None)),
            E::Operation { op, args } => self.operation(op, args),
            E::Property { property } => {
                let (name, ty) = self.property(property)?;
                if ty == FieldType::Boolean {
                    Ok(Node::Cmp(
                        CmpOp::Eq,
                        Operand::Field(name, ty),
                        Operand::Bool(true),
                    ))
                } else {
                    Err(format!(
                        "{property:?} is not a boolean; compare it with a value"
                    ))
                }
            }
            other => Err(format!(
                "{} is not a condition; a filter must be true or false for each feature",
                other.to_text().unwrap_or_else(|_| format!("{other:?}"))
            )),
        }
    }

    fn property(&self, name: &str) -> Result<(&'static str, FieldType), String> {
        if name == "id" {
            // The feature id: a string for zones, an integer for reports.
            return Ok(("id", FieldType::String));
        }
        let f = self.field(name)?;
        Ok((f.name, f.ty))
    }

    fn operation(&self, op: &str, args: &[Box<cql2::Expr>]) -> Result<Node, String> {
        match op {
            "and" | "or" => {
                let parts = args
                    .iter()
                    .map(|a| self.node(a))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(if op == "and" {
                    Node::And(parts)
                } else {
                    Node::Or(parts)
                })
            }
            "not" => {
                arity(op, args, 1)?;
                Ok(Node::Not(Box::new(self.node(&args[0])?)))
            }
            "=" | "<>" | "<" | "<=" | ">" | ">=" => {
                arity(op, args, 2)?;
                let cmp = match op {
                    "=" => CmpOp::Eq,
                    "<>" => CmpOp::Ne,
                    "<" => CmpOp::Lt,
                    "<=" => CmpOp::Le,
                    ">" => CmpOp::Gt,
                    _ => CmpOp::Ge,
                };
                let (a, b) = (self.operand(&args[0])?, self.operand(&args[1])?);
                check_comparable(&a, &b)?;
                Ok(Node::Cmp(cmp, a, b))
            }
            "like" => {
                arity(op, args, 2)?;
                let (a, b) = (self.operand(&args[0])?, self.operand(&args[1])?);
                for o in [&a, &b] {
                    if !matches!(kind_of(o), Some(FieldType::String) | None) {
                        return Err("LIKE compares text; both sides must be strings".into());
                    }
                }
                Ok(Node::Like(a, b))
            }
            "in" => {
                arity(op, args, 2)?;
                let a = self.operand(&args[0])?;
                let cql2::Expr::Array(items) = args[1].as_ref() else {
                    return Err("IN needs a list of values, like status IN ('reported', 'dispatched')".into());
                };
                let list = items
                    .iter()
                    .map(|i| self.operand(i))
                    .collect::<Result<Vec<_>, _>>()?;
                for b in &list {
                    check_comparable(&a, b)?;
                }
                Ok(Node::In(a, list))
            }
            "isNull" => {
                arity(op, args, 1)?;
                Ok(Node::IsNull(self.operand(&args[0])?))
            }
            "between" => {
                arity(op, args, 3)?;
                let v = self.operand(&args[0])?;
                let lo = self.operand(&args[1])?;
                let hi = self.operand(&args[2])?;
                check_comparable(&v, &lo)?;
                check_comparable(&v, &hi)?;
                Ok(Node::Between(v, lo, hi))
            }
            "s_intersects" => {
                arity(op, args, 2)?;
                let geom = match (args[0].as_ref(), args[1].as_ref()) {
                    (cql2::Expr::Property { property }, other)
                    | (other, cql2::Expr::Property { property })
                        if property == GEOMETRY =>
                    {
                        literal_geometry(other)?
                    }
                    _ => {
                        return Err(format!(
                            "S_INTERSECTS compares the property {GEOMETRY} with a geometry literal (POINT, POLYGON, BBOX, …)"
                        ))
                    }
                };
                Ok(Node::Intersects(Box::new(geom)))
            }
            op if op.starts_with("s_") => Err(format!(
                "the spatial function {} is not supported; this server implements S_INTERSECTS",
                op.to_uppercase()
            )),
            op if op.starts_with("t_") => {
                arity(op, args, 2)?;
                let t = match op {
                    "t_before" => TOp::Before,
                    "t_after" => TOp::After,
                    "t_meets" => TOp::Meets,
                    "t_metBy" => TOp::MetBy,
                    "t_overlaps" => TOp::Overlaps,
                    "t_overlappedBy" => TOp::OverlappedBy,
                    "t_starts" => TOp::Starts,
                    "t_startedBy" => TOp::StartedBy,
                    "t_during" => TOp::During,
                    "t_contains" => TOp::Contains,
                    "t_finishes" => TOp::Finishes,
                    "t_finishedBy" => TOp::FinishedBy,
                    "t_equals" => TOp::Equals,
                    "t_disjoint" => TOp::Disjoint,
                    "t_intersects" => TOp::Intersects,
                    other => return Err(format!("unknown temporal function {other}")),
                };
                Ok(Node::Temporal(t, self.span(&args[0])?, self.span(&args[1])?))
            }
            other => Err(format!(
                "{other:?} is not supported here; use comparisons, AND/OR/NOT, LIKE, IN, BETWEEN, IS NULL, CASEI, S_INTERSECTS or the T_ functions"
            )),
        }
    }

    fn operand(&self, e: &cql2::Expr) -> Result<Operand, String> {
        use cql2::Expr as E;
        match e {
            E::Property { property } => {
                let (name, ty) = self.property(property)?;
                if ty == FieldType::Object {
                    return Err(format!(
                        "{property:?} is a JSON object and cannot be compared"
                    ));
                }
                Ok(Operand::Field(name, ty))
            }
            E::Literal(s) => Ok(Operand::Str(s.clone())),
            E::Float(f) => Ok(Operand::Num(*f)),
            E::Bool(b) => Ok(Operand::Bool(*b)),
            E::Null => Ok(Operand::Null),
            E::Timestamp { .. } | E::Date { .. } => {
                let (start, _) = literal_span(e)?;
                Ok(Operand::Time(start))
            }
            E::Operation { op, args } if op == "casei" => {
                if args.len() != 1 {
                    return Err("CASEI takes one argument".into());
                }
                let inner = self.operand(&args[0])?;
                if !matches!(kind_of(&inner), Some(FieldType::String) | None) {
                    return Err("CASEI applies to text".into());
                }
                Ok(Operand::Casei(Box::new(inner)))
            }
            other => Err(format!(
                "{} cannot be used as a value here",
                other.to_text().unwrap_or_else(|_| format!("{other:?}"))
            )),
        }
    }

    fn span(&self, e: &cql2::Expr) -> Result<Span, String> {
        match e {
            cql2::Expr::Property { property } => {
                let (name, ty) = self.property(property)?;
                if ty != FieldType::DateTime {
                    return Err(format!(
                        "{property:?} is not a time; the temporal functions apply to the date-time queryables"
                    ));
                }
                Ok(Span::Field(name))
            }
            other => {
                let (a, b) = literal_span(other)?;
                Ok(Span::Fixed(a, b))
            }
        }
    }
}

/// The type of an operand (`None` for a null literal, which compares with anything).
fn kind_of(o: &Operand) -> Option<FieldType> {
    match o {
        Operand::Field("id", _) => None,
        Operand::Field(_, ty) => Some(*ty),
        Operand::Str(_) => Some(FieldType::String),
        Operand::Num(_) => Some(FieldType::Number),
        Operand::Bool(_) => Some(FieldType::Boolean),
        Operand::Time(_) => Some(FieldType::DateTime),
        Operand::Null => None,
        Operand::Casei(_) => Some(FieldType::String),
    }
}

fn check_comparable(a: &Operand, b: &Operand) -> Result<(), String> {
    let norm = |t: FieldType| match t {
        FieldType::Integer => FieldType::Number,
        t => t,
    };
    let id_field = |o: &Operand| matches!(o, Operand::Field("id", _));
    if id_field(a) || id_field(b) {
        return Ok(());
    }
    match (kind_of(a).map(norm), kind_of(b).map(norm)) {
        (Some(x), Some(y)) if x != y => {
            let hint = if x == FieldType::DateTime || y == FieldType::DateTime {
                " (write times as TIMESTAMP('2026-11-30T08:00:00+08:00') or DATE('2026-11-30'))"
            } else {
                ""
            };
            Err(format!(
                "cannot compare {} with {}{hint}",
                describe(a),
                describe(b)
            ))
        }
        _ => Ok(()),
    }
}

fn describe(o: &Operand) -> String {
    let (ty, _) = kind_of(o)
        .map(|t| t.json_schema())
        .unwrap_or(("null", None));
    match o {
        Operand::Field(n, FieldType::DateTime) => format!("the time {n}"),
        Operand::Field(n, _) => format!("{n} (a {ty})"),
        Operand::Time(_) => "a time".into(),
        _ => format!("a {ty}"),
    }
}

fn literal_text(e: &cql2::Expr) -> Result<String, String> {
    match e {
        cql2::Expr::Literal(s) => Ok(s.clone()),
        other => Err(format!(
            "expected a text literal, not {}",
            other.to_text().unwrap_or_default()
        )),
    }
}

fn parse_instant(s: &str) -> Result<i64, String> {
    crate::time::parse_rfc3339(s)
}

fn parse_date(s: &str) -> Result<i64, String> {
    parse_instant(&format!("{s}T00:00:00Z"))
        .map_err(|_| format!("{s:?} is not a date like 2026-11-30"))
}

/// A time literal as `[start, end]` Unix ms (a date is its whole day, UTC).
fn literal_span(e: &cql2::Expr) -> Result<(i64, i64), String> {
    use cql2::Expr as E;
    match e {
        E::Timestamp { timestamp } => {
            let t = parse_instant(&literal_text(timestamp)?)?;
            Ok((t, t))
        }
        E::Date { date } => {
            let d = parse_date(&literal_text(date)?)?;
            Ok((d, d + DAY_MS - 1))
        }
        E::Interval { interval } if interval.len() == 2 => {
            let bound = |b: &cql2::Expr, open: i64, end: bool| -> Result<i64, String> {
                let s = match b {
                    E::Timestamp { timestamp } => return parse_instant(&literal_text(timestamp)?),
                    E::Date { date } => {
                        let d = parse_date(&literal_text(date)?)?;
                        return Ok(if end { d + DAY_MS - 1 } else { d });
                    }
                    other => literal_text(other)?,
                };
                if s == ".." {
                    Ok(open)
                } else if s.len() == 10 {
                    let d = parse_date(&s)?;
                    Ok(if end { d + DAY_MS - 1 } else { d })
                } else {
                    parse_instant(&s)
                }
            };
            let a = bound(&interval[0], i64::MIN, false)?;
            let b = bound(&interval[1], i64::MAX, true)?;
            if a > b {
                return Err("an INTERVAL's start must not be after its end".into());
            }
            Ok((a, b))
        }
        E::Literal(s) => {
            let t = parse_instant(s)?;
            Ok((t, t))
        }
        other => Err(format!(
            "{} is not a time; use TIMESTAMP(…), DATE(…) or INTERVAL(…, …)",
            other.to_text().unwrap_or_default()
        )),
    }
}

fn literal_geometry(e: &cql2::Expr) -> Result<geo::Geometry<f64>, String> {
    if !matches!(e, cql2::Expr::Geometry(_) | cql2::Expr::BBox { .. }) {
        return Err(format!(
            "S_INTERSECTS needs a geometry literal (POINT, LINESTRING, POLYGON, … or BBOX), not {}",
            e.to_text().unwrap_or_default()
        ));
    }
    let g: geo::Geometry<f64> =
        geo::Geometry::try_from(e.clone()).map_err(|err| format!("bad geometry literal: {err}"))?;
    if let Some(r) = g.bounding_rect() {
        for (x, y) in [(r.min().x, r.min().y), (r.max().x, r.max().y)] {
            if !(-180.0..=180.0).contains(&x) || !(-90.0..=90.0).contains(&y) {
                return Err(format!(
                    "the geometry has a position [{x}, {y}] outside lon ±180 / lat ±90; filter-crs is CRS84 ([lon, lat])"
                ));
            }
        }
    }
    Ok(g)
}

fn value<'a>(o: &'a Operand, r: &'a dyn Record) -> V<'a> {
    match o {
        Operand::Field(name, _) => match r.field(name) {
            FieldValue::Null | FieldValue::Object(_) => V::Null,
            FieldValue::Str(s) => V::Str(s),
            FieldValue::Num(n) => V::Num(n),
            FieldValue::Int(n) => V::Num(n as f64),
            FieldValue::Bool(b) => V::Bool(b),
            FieldValue::Time(t) => V::Time(t),
        },
        Operand::Str(s) => V::Str(Cow::Borrowed(s)),
        Operand::Num(n) => V::Num(*n),
        Operand::Bool(b) => V::Bool(*b),
        Operand::Time(t) => V::Time(*t),
        Operand::Null => V::Null,
        Operand::Casei(inner) => match value(inner, r) {
            V::Str(s) => V::Str(Cow::Owned(s.to_lowercase())),
            other => other,
        },
    }
}

fn compare(a: &V, b: &V) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (V::Str(x), V::Str(y)) => Some(x.cmp(y)),
        (V::Num(x), V::Num(y)) => x.partial_cmp(y),
        (V::Bool(x), V::Bool(y)) => Some(x.cmp(y)),
        (V::Time(x), V::Time(y)) => Some(x.cmp(y)),
        // An id compared with a number (reports) or text (zones): compare as text.
        (V::Str(x), V::Num(y)) | (V::Num(y), V::Str(x)) => {
            let y = if y.fract() == 0.0 {
                format!("{}", *y as i64)
            } else {
                y.to_string()
            };
            if matches!(a, V::Str(_)) {
                Some(x.as_ref().cmp(y.as_str()))
            } else {
                Some(y.as_str().cmp(x.as_ref()))
            }
        }
        _ => None,
    }
}

/// `LIKE` with `%` (any run), `_` (one character) and `\` escaping either.
fn like(text: &str, pattern: &str) -> bool {
    fn go(t: &[char], p: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('%') => (0..=t.len()).any(|i| go(&t[i..], &p[1..])),
            Some('_') => !t.is_empty() && go(&t[1..], &p[1..]),
            Some('\\') if p.len() > 1 => t.first() == Some(&p[1]) && go(&t[1..], &p[2..]),
            Some(c) => t.first() == Some(c) && go(&t[1..], &p[1..]),
        }
    }
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    go(&t, &p)
}

fn span(s: &Span, r: &dyn Record) -> Option<(i64, i64)> {
    match s {
        Span::Fixed(a, b) => Some((*a, *b)),
        Span::Field(name) => match r.field(name) {
            FieldValue::Time(t) => Some((t, t)),
            _ => None,
        },
    }
}

fn temporal(op: TOp, (ls, le): (i64, i64), (rs, re): (i64, i64)) -> bool {
    match op {
        TOp::Before => le < rs,
        TOp::After => ls > re,
        TOp::Meets => le == rs,
        TOp::MetBy => ls == re,
        TOp::Overlaps => ls < rs && rs < le && le < re,
        TOp::OverlappedBy => rs < ls && ls < re && re < le,
        TOp::Starts => ls == rs && le < re,
        TOp::StartedBy => ls == rs && re < le,
        TOp::During => ls > rs && le < re,
        TOp::Contains => rs > ls && re < le,
        TOp::Finishes => ls > rs && le == re,
        TOp::FinishedBy => rs > ls && le == re,
        TOp::Equals => ls == rs && le == re,
        TOp::Disjoint => !(ls <= re && le >= rs),
        TOp::Intersects => ls <= re && le >= rs,
    }
}

/// Three-valued evaluation: `None` is unknown (a null was involved).
fn eval(n: &Node, r: &dyn Record) -> Option<bool> {
    match n {
        Node::Const(b) => *b,
        Node::And(parts) => {
            let mut unknown = false;
            for p in parts {
                match eval(p, r) {
                    Some(false) => return Some(false),
                    None => unknown = true,
                    Some(true) => {}
                }
            }
            (!unknown).then_some(true)
        }
        Node::Or(parts) => {
            let mut unknown = false;
            for p in parts {
                match eval(p, r) {
                    Some(true) => return Some(true),
                    None => unknown = true,
                    Some(false) => {}
                }
            }
            (!unknown).then_some(false)
        }
        Node::Not(inner) => eval(inner, r).map(|b| !b),
        Node::Cmp(op, a, b) => {
            let (x, y) = (value(a, r), value(b, r));
            if x == V::Null || y == V::Null {
                return None;
            }
            let o = compare(&x, &y)?;
            use std::cmp::Ordering::*;
            Some(match op {
                CmpOp::Eq => o == Equal,
                CmpOp::Ne => o != Equal,
                CmpOp::Lt => o == Less,
                CmpOp::Le => o != Greater,
                CmpOp::Gt => o == Greater,
                CmpOp::Ge => o != Less,
            })
        }
        Node::Like(a, b) => match (value(a, r), value(b, r)) {
            (V::Str(t), V::Str(p)) => Some(like(&t, &p)),
            _ => None,
        },
        Node::In(a, list) => {
            let x = value(a, r);
            if x == V::Null {
                return None;
            }
            let mut unknown = false;
            for b in list {
                let y = value(b, r);
                if y == V::Null {
                    unknown = true;
                } else if compare(&x, &y) == Some(std::cmp::Ordering::Equal) {
                    return Some(true);
                }
            }
            (!unknown).then_some(false)
        }
        Node::IsNull(a) => Some(value(a, r) == V::Null),
        Node::Between(v, lo, hi) => {
            let (x, l, h) = (value(v, r), value(lo, r), value(hi, r));
            if x == V::Null || l == V::Null || h == V::Null {
                return None;
            }
            Some(
                compare(&x, &l)? != std::cmp::Ordering::Less
                    && compare(&x, &h)? != std::cmp::Ordering::Greater,
            )
        }
        Node::Intersects(g) => Some(r.shape().intersects(g)),
        Node::Temporal(op, a, b) => Some(temporal(*op, span(a, r)?, span(b, r)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        assert!(like("白山市第一中学", "白山%中学"));
        assert!(like("abc", "a_c"));
        assert!(!like("abc", "a_"));
        assert!(like("50%", "50\\%"));
        assert!(!like("500", "50\\%"));
    }

    #[test]
    fn temporal_relations_on_instants_and_intervals() {
        assert!(temporal(TOp::Before, (1, 1), (2, 5)));
        assert!(temporal(TOp::After, (6, 6), (2, 5)));
        assert!(temporal(TOp::Intersects, (5, 5), (2, 5)));
        assert!(!temporal(TOp::Intersects, (6, 6), (2, 5)));
        assert!(temporal(TOp::During, (3, 3), (2, 5)));
        assert!(temporal(TOp::Disjoint, (6, 6), (2, 5)));
    }
}
