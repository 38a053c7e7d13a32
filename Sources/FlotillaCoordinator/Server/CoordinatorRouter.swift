import Hummingbird

/// Builds the coordinator's one router: node endpoints, the LLM gateway and the admin API.
/// `serve` runs it on the TLS listener; tests call it in-process (HummingbirdTesting).
enum CoordinatorRouter {
    static func build(services: CoordinatorServices) -> Router<CoordinatorRequestContext> {
        let router = Router(context: CoordinatorRequestContext.self)
        router.add(middleware: RequestMetricsMiddleware(metrics: services.metrics))
        router.add(middleware: ErrorMiddleware())
        router.get("/healthz") { _, _ in "ok\n" }
        MetricsAPI(services: services).addRoutes(to: router)
        DashboardAPI(services: services).addRoutes(to: router)
        NodeAPI(services: services).addRoutes(to: router)
        ReleaseAPI(services: services).addRoutes(to: router)
        GatewayAPI(services: services).addRoutes(to: router)
        let admin = router.group("/admin/v1").add(middleware: AdminAuthMiddleware(credentials: services.credentials))
        AdminAPI(services: services).addRoutes(to: admin)
        AdminReleaseAPI(services: services).addRoutes(to: admin)
        AdminGatewayAPI(services: services).addRoutes(to: admin)
        AdminBudgetAPI(services: services).addRoutes(to: admin)
        AdminAuditAPI(services: services).addRoutes(to: admin)
        return router
    }
}
