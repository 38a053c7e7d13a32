extension PostgresSchema {
    /// Reservations are decided by the coordinators on counter rows they lock for a batch
    /// (PostgresUsageLedger+Reservations), with the rule the embedded store applies in memory
    /// (`BudgetBook.reserve`): the per-call server function is gone.
    static let reservationBatches = """
        DROP FUNCTION IF EXISTS flotilla_reserve;
        """
}
