import FlotillaProtocol
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// How every dashboard response is sent: HTML with a Content-Security-Policy that allows only
/// the coordinator's own script and style (no inline script, nothing from elsewhere), no
/// framing, no caching and no referrer.
enum DashboardResponse {
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    static func securityHeaders() -> HTTPFields {
        var fields = HTTPFields()
        fields[.contentSecurityPolicy] = contentSecurityPolicy
        fields[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        fields[HTTPField.Name("X-Frame-Options")!] = "DENY"
        fields[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        fields[.cacheControl] = "no-store"
        return fields
    }

    static func html(_ page: HTML, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = securityHeaders()
        fields[.contentType] = "text/html; charset=utf-8"
        fields.append(contentsOf: headers)
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: page.text)))
    }

    /// 303 See Other to `location` (after a form post, and to the sign-in page).
    static func redirect(_ location: String, headers: HTTPFields = [:]) -> Response {
        var fields = securityHeaders()
        fields[.location] = location
        fields.append(contentsOf: headers)
        return Response(status: .seeOther, headers: fields)
    }

    /// A static asset, cacheable for an hour.
    static func asset(_ text: String, contentType: String) -> Response {
        var fields = securityHeaders()
        fields[.contentType] = contentType
        fields[.cacheControl] = "private, max-age=3600"
        return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}

/// The page frame: header with navigation and sign-out, the main content, a live-update script.
enum DashboardLayout {
    static let sections: [(path: String, title: String)] = [
        ("/ui/", "Overview"), ("/ui/nodes", "Nodes"), ("/ui/rollouts", "Rollouts"), ("/ui/budgets", "Budgets & events"),
        ("/ui/usage", "Usage"), ("/ui/audit", "Audit log"),
    ]

    static func page(title: String, active: String, csrf: String?, _ content: HTML) -> HTML {
        let navigation = sections.map { section -> HTML in
            section.path == active
                ? "<li><a href=\"\(section.path)\" aria-current=\"page\">\(section.title)</a></li>"
                : "<li><a href=\"\(section.path)\">\(section.title)</a></li>"
        }
        let signOut: HTML = csrf.map { token in
            """
            <form method="post" action="/ui/sign-out" class="sign-out"><input type="hidden" name="csrf" value="\(token)">\
            <button type="submit">Sign out</button></form>
            """
        } ?? .empty
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title) · Flotilla</title>
            <link rel="stylesheet" href="/ui/static/app.css">
            <script src="/ui/static/app.js" defer></script>
            </head>
            <body>
            <header>
            <a class="brand" href="/ui/">Flotilla</a>
            <nav aria-label="Sections"><ul>\(navigation)</ul></nav>
            \(signOut)
            </header>
            <main id="main">
            <h1>\(title)</h1>
            \(content)
            </main>
            </body>
            </html>
            """
    }

    /// A one-button form that posts to `action` with the session's CSRF token (and `fields`).
    static func postButton(_ action: String, csrf: String, label: String, id: String, danger: Bool = false,
                           fields: [(name: String, value: String)] = []) -> HTML {
        let hidden = fields.map { "<input type=\"hidden\" name=\"\($0.name)\" value=\"\($0.value)\">" as HTML }
        return """
            <form method="post" action="\(action)" class="inline"><input type="hidden" name="csrf" value="\(csrf)">\(hidden)\
            <button type="submit" id="\(id)"\(danger ? HTML(" class=\"danger\"") : HTML.empty)>\(label)</button></form>
            """
    }

    /// A page for an error, in the dashboard's frame.
    static func errorPage(_ error: CoordinatorError, csrf: String?) -> Response {
        let content: HTML = """
            <p class="error" role="alert"><strong>\(error.code.rawValue)</strong>: \(error.message)</p>
            <p><a href="/ui/">Back to the overview</a></p>
            """
        return DashboardResponse.html(page(title: "Error", active: "", csrf: csrf, content),
                                      status: HTTPResponse.Status(code: error.code.httpStatus), headers: error.headers)
    }
}
