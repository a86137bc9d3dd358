extension Connection {
    /// Inserts a row whose business key this transaction has just found absent. Under READ
    /// COMMITTED nothing stops a concurrent transaction from inserting the same key between
    /// that read and this insert; its duplicate becomes `.insertRace`, which `Store.transaction`
    /// retries like a deadlock, and the rerun finds the row instead of answering an error.
    @discardableResult
    public func insertNew(_ sql: String, _ parameters: [any SQLBindable]) throws -> ExecutionResult {
        do {
            return try execute(sql, parameters)
        } catch let error as DatabaseError where error.kind == .duplicateKey {
            throw DatabaseError(kind: .insertRace, code: error.code, sqlState: error.sqlState, message: error.message)
        }
    }
}
