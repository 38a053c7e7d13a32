import FlotillaProtocol
import Foundation
import HTTPTypes
import Hummingbird

/// Admits dashboard requests from a signed-in session (the `flotilla_session` cookie) and
/// checks the CSRF token of every state-changing one; sends everyone else to the sign-in page.
/// Errors below it are rendered as dashboard pages (HTML), not JSON.
///
/// Only the session cookie opens the dashboard: a node's client certificate, its gateway key,
/// the metrics token or an `Authorization` header do not.
struct DashboardAuthMiddleware: RouterMiddleware {
    typealias Context = CoordinatorRequestContext
    static let cookieName = "flotilla_session"
    /// Largest form body a dashboard action accepts.
    static let formBodyLimit = 16 * 1024

    let services: CoordinatorServices

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        do {
            let path = request.uri.path
            if path == "/ui/sign-in" || path.hasPrefix("/ui/static/") { return try await next(request, context) }
            guard let value = request.cookies[Self.cookieName]?.value, !value.isEmpty else { return Self.toSignIn(request) }
            let secrets = SessionSecrets(cookieValue: value)
            guard try await services.validSession(idHash: secrets.idHash) != nil else { return Self.toSignIn(request) }
            context.dashboardSession = secrets
            context.actor = .dashboard(sessionHashHex: secrets.idHash, source: context.remoteAddress)
            var request = request
            if request.method != .get, request.method != .head {
                let form = try await Self.form(&request)
                guard secrets.acceptsCSRF(form["csrf"]) else {
                    throw CoordinatorError(.csrfInvalid, "the form's CSRF token is missing or not this session's: reload the page and try again")
                }
            }
            return try await next(request, context)
        } catch {
            let shown = CoordinatorError.normalized(error, request: request, logger: context.logger)
            return DashboardLayout.errorPage(shown, csrf: context.dashboardSession?.csrfToken)
        }
    }

    /// The request's form fields (its body is kept for the handler).
    static func form(_ request: inout Request) async throws(CoordinatorError) -> [String: String] {
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: formBodyLimit)
        } catch {
            throw CoordinatorError(.bodyTooLarge, "the form is over the \(formBodyLimit / 1024) KiB limit")
        }
        return FormData.parse(String(buffer: buffer))
    }

    /// 303 to the sign-in page, remembering a page asked for with GET.
    static func toSignIn(_ request: Request) -> Response {
        let back = request.method == .get ? "?next=" + FormData.encode(request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")) : ""
        return DashboardResponse.redirect("/ui/sign-in" + back)
    }
}
