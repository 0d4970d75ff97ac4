//! The OpenAPI document of `/api/v1`, generated from the handlers' attributes, and the route
//! that serves it. A test holds the document to the routes the router serves.

use axum::response::IntoResponse;
use utoipa::OpenApi;

/// The OpenAPI document of `/api/v1` (this one).
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "document",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)))]
pub(crate) async fn document() -> impl IntoResponse {
    axum::Json(ApiDoc::openapi())
}

/// What every operation shares: the Bearer scheme of staff tokens and the refusals answered
/// before any handler runs, so no handler's attribute lists them: the rate limiter's 429, 400
/// for a path segment that is not UTF-8, 413 for a body over the limit (see `json_refusals`).
#[derive(Debug)]
struct Shared;

impl utoipa::Modify for Shared {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::Schema;
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token from `ricevo token add`, of the town in the path"))
                    .build(),
            ),
        );
        let refusal = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
                )
                .build()
        };
        let too_many = refusal("`too_many_requests`: over the per-address rate limit; see `Retry-After`");
        let bad_path = refusal("`bad_request`: a path segment that is not UTF-8");
        let too_large = refusal("`request_too_large`: a body over 64 KiB");
        for item in doc.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
                &mut item.options,
                &mut item.trace,
            ]
            .into_iter()
            .flatten()
            {
                let answers = &mut op.responses.responses;
                answers.entry("429".into()).or_insert_with(|| too_many.clone().into());
                let in_path = |p: &utoipa::openapi::path::Parameter| {
                    matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Path)
                };
                if op.parameters.as_ref().is_some_and(|ps| ps.iter().any(in_path)) {
                    answers.entry("400".into()).or_insert_with(|| bad_path.clone().into());
                }
                if let Some(body) = op.request_body.as_mut() {
                    answers.entry("413".into()).or_insert_with(|| too_large.clone().into());
                    // An optional body is left out by sending none: `null` is no body a handler
                    // takes, so the document shows the body itself rather than "it or null".
                    for content in body.content.values_mut() {
                        if let Some(RefOr::T(Schema::OneOf(one))) = &content.schema
                            && let [only] =
                                one.items.iter().filter(|i| matches!(i, RefOr::Ref(_))).collect::<Vec<_>>()[..]
                        {
                            content.schema = Some(only.clone());
                        }
                    }
                }
            }
        }
    }
}

/// The OpenAPI document of `/api/v1`, generated from the handlers above.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Ricevo API", description = "Booking and appointments of the virtual reception desk", version = "1"),
    paths(
        document,
        crate::api::services,
        crate::api::slots,
        crate::api::create_appointment,
        crate::api::get_appointment,
        crate::api::cancel_appointment,
        crate::api::move_appointment,
        crate::api::day,
        crate::api::offices,
        crate::api::set_status,
        crate::api::staff_move,
        crate::audit_api::audit,
        crate::api::book_on_behalf,
        crate::room::api::waiting,
        crate::room::api::call_next,
        crate::room::api::take_ticket,
        crate::room::api::act,
        crate::room::api::invite,
        crate::room::api::end,
        crate::room::api::meeting_document,
        crate::gdpr::export,
        crate::gdpr::erase,
        crate::reports::api::report
    ),
    components(schemas(
        crate::api::ServiceView,
        crate::api::SlotView,
        crate::api::BookingBody,
        crate::api::CitizenBody,
        crate::api::ConflictBody,
        crate::api::RefusalBody,
        crate::api::AppointmentView,
        crate::api::MoveBody,
        crate::api::StaffAppointmentView,
        crate::api::OfficeView,
        crate::api::OfficesItem,
        crate::api::WeeklyRange,
        crate::api::StatusBody,
        crate::audit_api::AuditEntryView,
        crate::audit_api::AuditPageView,
        crate::api::StaffMoveBody,
        crate::api::StaffBookingBody,
        ricevo_desk::booking::BookingReceipt,
        crate::error::ErrorBody,
        crate::error::FieldErrorBody,
        crate::room::api::PublicOfficeView,
        crate::room::actions::WaitingView,
        crate::room::api::Admitted,
        crate::room::api::ActionBody,
        crate::room::api::ActOutcome,
        crate::room::api::WaitingAction,
        crate::room::api::InviteBody,
        crate::room::api::Invitation,
        crate::room::api::TicketBody,
        crate::room::api::Ticket,
        crate::gdpr::CitizenKeyBody,
        crate::gdpr::CitizenExport,
        crate::gdpr::AppointmentData,
        crate::gdpr::PlaceData,
        crate::gdpr::DocumentData,
        crate::gdpr::ChatData,
        crate::gdpr::MessageData,
        crate::gdpr::ErasureView
    )),
    modifiers(&Shared)
)]
#[derive(Debug)]
pub struct ApiDoc;
