import FlotillaProtocol
import Foundation
import HTTPTypes
import Hummingbird

/// The web dashboard under `/ui/` on the coordinator's HTTPS listener: sign-in with the admin
/// token, then the fleet's pages (server-rendered HTML that works without JavaScript; a small
/// script of our own adds live updates over server-sent events).
struct DashboardAPI {
    let services: CoordinatorServices
    /// How long a session lasts from sign-in.
    static let sessionLifetime: TimeInterval = 12 * 3600
    /// The sign-in form's double-submit cookie (there is no session yet to tie a CSRF token to).
    static let signInCookie = "flotilla_sign_in"

    func addRoutes(to router: Router<CoordinatorRequestContext>) {
        let ui = router.group("/ui").add(middleware: DashboardAuthMiddleware(services: services))
        ui.get("static/app.css") { _, _ in DashboardResponse.asset(DashboardAssets.css, contentType: "text/css; charset=utf-8") }
        ui.get("static/app.js") { _, _ in DashboardResponse.asset(DashboardAssets.script, contentType: "text/javascript; charset=utf-8") }
        ui.get("sign-in") { request, _ in signInPage(request) }
        ui.post("sign-in") { request, context in try await signIn(request, context) }
        ui.post("sign-out") { _, context in try await signOut(context) }
        ui.get("/") { _, context in try await OverviewPage(services: services).render(context) }
        ui.get("nodes") { request, context in try await NodesPage(services: services).render(request, context) }
        ui.get("nodes/:name") { request, context in try await NodePage(services: services).render(request, context) }
        NodeActions(services: services).addRoutes(to: ui)
        RolloutsPage(services: services).addRoutes(to: ui)
        ui.get("budgets") { _, context in try await BudgetsPage(services: services).render(context) }
        ui.get("usage") { request, context in try await UsagePage(services: services).render(request, context) }
        ui.get("audit") { request, context in try await AuditPage(services: services).render(request, context) }
        ui.get("stream") { request, context in try await DashboardStream(services: services).response(request, context) }
    }

    // MARK: Sign-in

    func signInPage(_ request: Request, problem: String? = nil, status: HTTPResponse.Status = .ok, next: String? = nil) -> Response {
        let nonce = Secrets.generateToken(prefix: "")
        let next = Self.safeNext(next ?? request.uri.queryParameters.get("next"))
        let alert: HTML = problem.map { "<p class=\"error\" role=\"alert\">\($0)</p>" } ?? .empty
        let page: HTML = """
            <!doctype html>
            <html lang="en">
            <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Sign in · Flotilla</title><link rel="stylesheet" href="/ui/static/app.css"></head>
            <body><main class="sign-in">
            <h1>Flotilla</h1>
            <p class="muted">Sign in with the coordinator's admin token (<code>admin.token</code> in its data directory).</p>
            \(alert)
            <form method="post" action="/ui/sign-in">
            <input type="hidden" name="csrf" value="\(nonce)">
            <input type="hidden" name="next" value="\(next)">
            <label for="token">Admin token<input id="token" name="token" type="password" autocomplete="current-password" required autofocus></label>
            <button type="submit">Sign in</button>
            </form>
            </main></body></html>
            """
        return DashboardResponse.html(page, status: status, headers: [
            .setCookie: "\(Self.signInCookie)=\(nonce); Path=/ui/sign-in; HttpOnly; Secure; SameSite=Strict; Max-Age=3600",
        ])
    }

    func signIn(_ request: Request, _ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        var request = request
        let form = try await DashboardAuthMiddleware.form(&request)
        // Double submit: the form's nonce must match the cookie this browser got with the form.
        guard let nonce = request.cookies[Self.signInCookie]?.value, !nonce.isEmpty,
              Secrets.constantTimeEquals(Array(nonce.utf8), Array((form["csrf"] ?? "").utf8))
        else {
            throw CoordinatorError(.csrfInvalid, "the sign-in form is missing its CSRF token or it has expired: open the sign-in page again")
        }
        let source = context.remoteAddress
        try services.signInThrottle.begin(source)
        let token = (form["token"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard services.credentials.isAdminToken(token) else {
            services.metrics.signIn(outcome: "refused")
            if let repeated = services.signInFailures.record(now: Date(), source: source) {
                // One entry a minute at most, however many addresses try: the log cannot be flooded.
                await services.auditSignInFailures(repeated, source: source)
            }
            return signInPage(request, problem: "That token is not valid for this coordinator.", status: .unauthorized, next: form["next"])
        }
        services.metrics.signIn(outcome: "accepted")
        services.signInThrottle.succeeded(source)
        let cookie = Secrets.generateToken(prefix: "flt_session_")
        let secrets = SessionSecrets(cookieValue: cookie)
        let now = Date()
        let signedInWith = services.credentials.adminTokenFingerprint
        try await services.sessions.insert(DashboardSession(idHash: secrets.idHash, signedInWith: signedInWith, source: source,
                                                            createdAt: now, expiresAt: now.addingTimeInterval(Self.sessionLifetime)))
        try? await services.sessions.deleteExpired(now: now)
        var signedIn = context
        signedIn.actor = .dashboard(sessionHashHex: secrets.idHash, source: source)
        await services.audit(AuditRecord("dashboard.sign_in", details: ["signed_in_with": signedInWith]), signedIn)
        var headers = HTTPFields()
        headers.append(HTTPField(name: .setCookie, value:
            "\(DashboardAuthMiddleware.cookieName)=\(cookie); Path=/ui; HttpOnly; Secure; SameSite=Strict; Max-Age=\(Int(Self.sessionLifetime))"))
        headers.append(HTTPField(name: .setCookie, value: "\(Self.signInCookie)=; Path=/ui/sign-in; HttpOnly; Secure; SameSite=Strict; Max-Age=0"))
        return DashboardResponse.redirect(Self.safeNext(form["next"]), headers: headers)
    }

    func signOut(_ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        if let session = context.dashboardSession {
            try await services.sessions.delete(idHash: session.idHash)
            await services.audit(AuditRecord("dashboard.sign_out"), context)
        }
        return DashboardResponse.redirect("/ui/sign-in", headers: [
            .setCookie: "\(DashboardAuthMiddleware.cookieName)=; Path=/ui; HttpOnly; Secure; SameSite=Strict; Max-Age=0",
        ])
    }

    /// Where to go after signing in: a dashboard path only (never another site).
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/ui/"), !next.hasPrefix("//"), !next.contains("\\"),
              !next.unicodeScalars.contains(where: { $0.value < 0x20 }) else { return "/ui/" }
        return next
    }
}
