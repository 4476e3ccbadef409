//! Campaigns as the server runs them: reads, audited writes (each in one transaction), the
//! summary with its patrol coverage, and the weekly bulletin as HTML or PNG pages.

use super::{bulletin, CampaignError, NewCampaign, Summary};
use crate::audit::Actor;
use crate::auth::User;
use crate::state::App;
use crate::store::campaigns::{self as sql, Campaign};
use serde_json::json;

type Result<T> = std::result::Result<T, CampaignError>;

/// A store failure rolls the transaction back (an `Err` to the store); other errors leave
/// nothing written and are answered as they are.
fn rollback_on_store<T>(r: Result<T>) -> crate::store::Result<Result<T>> {
    match r {
        Err(CampaignError::Store(s)) => Err(s),
        other => Ok(other),
    }
}

/// Every campaign.
pub async fn list(app: &App) -> Result<Vec<Campaign>> {
    Ok(app.store.read(sql::list).await?)
}

/// Campaign `id`.
pub async fn get(app: &App, id: i64) -> Result<Campaign> {
    app.store
        .read(move |c| sql::get(c, id))
        .await?
        .ok_or(CampaignError::NotFound(id))
}

pub async fn create(app: &App, actor: &Actor, n: NewCampaign) -> Result<Campaign> {
    n.validate()?;
    let actor = actor.clone();
    app.store
        .write(move |c| rollback_on_store(super::create(c, &actor, &n)))
        .await?
}

pub async fn update(app: &App, actor: &Actor, id: i64, n: NewCampaign) -> Result<Campaign> {
    n.validate()?;
    let actor = actor.clone();
    app.store
        .write(move |c| rollback_on_store(super::update(c, &actor, id, &n)))
        .await?
}

pub async fn delete(app: &App, actor: &Actor, id: i64) -> Result<()> {
    let actor = actor.clone();
    app.store
        .write(move |c| rollback_on_store(super::delete(c, &actor, id)))
        .await?
}

/// The campaign's summary as `user` may see it, with the patrol coverage of its days so far.
pub async fn summary(
    app: &crate::state::AppState,
    user: &User,
    c: Campaign,
    now: i64,
) -> Result<Summary> {
    let visibility = crate::scope::Visibility::of(user);
    let offset = app.config.city_utc_offset_s;
    let days = super::days_so_far(&c, now, offset);
    let points = app.tiles.report_points.clone();
    let mut s = app
        .store
        .read(move |conn| {
            super::summary(conn, c, visibility, now, offset, &|ids| {
                points.positions(ids)
            })
        })
        .await?;
    let (st, user) = (app.clone(), user.clone());
    let coverage = tokio::task::spawn_blocking(move || {
        crate::patrol::service::campaign_coverage(&st, &user, days)
    })
    .await
    .map_err(|e| CampaignError::Task(e.to_string()))??;
    s.patrol_coverage = Some(coverage);
    Ok(s)
}

/// How the bulletin is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulletinFormat {
    Html,
    /// One A4 page as PNG, counted from 1.
    Png {
        page: usize,
    },
}

/// A rendered bulletin.
pub enum RenderedBulletin {
    Html(String),
    Png { bytes: Vec<u8>, pages: usize },
}

/// The weekly bulletin of campaign `id` for the 7 days from `week` (`YYYY-MM-DD`, default the
/// campaign's start), in Chinese, as `user` may see it.
pub async fn bulletin(
    app: &crate::state::AppState,
    user: &User,
    id: i64,
    week: Option<&str>,
    format: BulletinFormat,
) -> Result<RenderedBulletin> {
    let c = get(app, id).await?;
    let week_s = week.unwrap_or(&c.start).to_string();
    let week = super::parse_date(&week_s).ok_or_else(|| {
        CampaignError::Invalid(
            format!("week={week_s:?} is not a date; use YYYY-MM-DD"),
            "campaign_bad_date",
            json!({"field": "week", "value": week_s}),
        )
    })?;
    let off = app.config.city_utc_offset_s as i64 * 1000;
    let now = crate::time::now_ms();
    let since_ms = crate::time::city_midnight(week, off);
    let until_ms = crate::time::city_midnight(week + 7, off);
    let filter = crate::store::stats::ReportFilter {
        since: Some(since_ms),
        until: Some(until_ms),
        visibility: crate::scope::Visibility::of(user),
        ..Default::default()
    };
    let f2 = filter.clone();
    let spread = app.store.read(move |conn| sql::spread(conn, &f2)).await?;
    let s = summary(app, user, c, now).await?;
    const HEAT_Z: u8 = 12;
    let heat = spread.map(|sp| {
        let (lon, lat) = sp.centre;
        let (x, y) = bulletin::tile_of(lon, lat, HEAT_Z);
        (HEAT_Z, x, y)
    });
    let doc = bulletin::model(&s, week, heat.is_some());
    let page = match format {
        BulletinFormat::Html => {
            let src = heat.map(|(z, x, y)| {
                format!(
                    "/heatmap/{z}/{x}/{y}.png?since={}&until={}",
                    crate::time::to_rfc3339(since_ms),
                    crate::time::to_rfc3339(until_ms)
                )
            });
            return Ok(RenderedBulletin::Html(bulletin::html(&doc, src.as_deref())));
        }
        BulletinFormat::Png { page } => page,
    };
    let st = app.clone();
    let (pages, bytes) = tokio::task::spawn_blocking(move || {
        let style = crate::analytics::heatmap::HeatStyle {
            radius_m: st.config.heatmap_radius_m,
            scale_per_ha: st.config.heatmap_scale_per_ha,
        };
        let pic = spread
            .map(|sp| bulletin::mosaic_view(sp.bbox))
            .map(|(z, x, y)| {
                bulletin::heat_mosaic(z, x, y, |t| {
                    crate::analytics::heatmap::render_points(
                        st.tiles.report_points.as_ref(),
                        t,
                        &filter,
                        &style,
                    )
                })
            });
        let font = crate::analytics::draw::Font::embedded();
        let pngs = bulletin::png_pages(&doc, pic.as_ref(), font);
        let n = pngs.len();
        (
            n,
            page.checked_sub(1)
                .and_then(|i| pngs.get(i))
                .map(crate::analytics::heatmap::encode_png),
        )
    })
    .await
    .map_err(|e| CampaignError::Task(format!("bulletin rendering failed: {e}")))?;
    match bytes {
        Some(bytes) => Ok(RenderedBulletin::Png { bytes, pages }),
        None => Err(CampaignError::NoPage { page, pages }),
    }
}
