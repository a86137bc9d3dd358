internal import CMaria
import Glibc

/// A server-side prepared statement on one connection.
///
/// Owned by `Connection` (which caches them by SQL text) and used only on that connection's
/// thread. Parameters are bound from `SQLValue`s; results are copied out of Connector/C's
/// buffers into `Row`s before `fetch` returns, because the library reuses them per row.
final class PreparedStatement {
    private let handle: UnsafeMutablePointer<MYSQL_STMT>
    let parameterCount: Int
    /// False once a result set was cut off by an error after `execute` (a Galera abort in the
    /// middle of a SELECT, a runtime error on a later row). Connector/C then leaves the handle
    /// believing rows are still on their way: its next `mysql_stmt_execute` would try to drain
    /// them and wait, holding every lock of the transaction, for packets the server never sends
    /// (until the read timeout). Such a statement is closed and prepared afresh, never reused.
    private(set) var isReusable = true

    init(connection: UnsafeMutablePointer<MYSQL>, sql: String) throws {
        guard let handle = mysql_stmt_init(connection) else {
            throw DatabaseError(
                code: mysql_errno(connection), sqlState: String(cString: mysql_sqlstate(connection)),
                message: String(cString: mysql_error(connection)))
        }
        self.handle = handle
        let failed = sql.withCString { mysql_stmt_prepare(handle, $0, UInt(strlen($0))) } != 0
        if failed {
            let error = Self.error(of: handle)
            mysql_stmt_close(handle)
            throw error
        }
        parameterCount = Int(mysql_stmt_param_count(handle))
    }

    deinit {
        // The statement belongs to this object alone; closing it frees its server-side handle.
        mysql_stmt_close(handle)
    }

    /// Runs the statement and returns its rows (empty for statements without a result set).
    func run(_ parameters: [SQLValue]) throws -> (rows: [Row], result: ExecutionResult) {
        guard parameters.count == parameterCount else {
            throw DatabaseError(
                kind: .misuse,
                message: "statement takes \(parameterCount) parameters, \(parameters.count) given")
        }
        try execute(parameters)
        let rows: [Row]
        do {
            rows = try fetchAll()
        } catch {
            isReusable = false
            throw error
        }
        let result = ExecutionResult(
            affectedRows: UInt64(truncatingIfNeeded: mysql_stmt_affected_rows(handle)),
            lastInsertID: UInt64(mysql_stmt_insert_id(handle)))
        // Frees the stored rows (memory only, no round trip); should it ever fail, the handle is
        // retired rather than trusted.
        if mysql_stmt_free_result(handle) != 0 { isReusable = false }
        return (rows, result)
    }

    // MARK: Parameters

    private func execute(_ parameters: [SQLValue]) throws {
        if parameters.isEmpty {
            guard mysql_stmt_execute(handle) == 0 else { throw Self.error(of: handle) }
            return
        }
        // Every bound buffer must stay valid until mysql_stmt_execute returns, so all of them
        // live in one ParameterBuffers value that is released only after the call.
        let buffers = ParameterBuffers(parameters)
        defer { buffers.release() }
        guard mysql_stmt_bind_param(handle, buffers.binds) == 0 else { throw Self.error(of: handle) }
        guard mysql_stmt_execute(handle) == 0 else { throw Self.error(of: handle) }
    }

    // MARK: Results

    private func fetchAll() throws -> [Row] {
        guard let metadata = mysql_stmt_result_metadata(handle) else {
            // No result set (INSERT, UPDATE, DDL) unless the statement failed.
            if mysql_stmt_errno(handle) != 0 { throw Self.error(of: handle) }
            return []
        }
        defer { mysql_free_result(metadata) }

        // Ask for max_length so each column's buffer can be sized once for the whole result.
        var updateMaxLength: my_bool = 1
        guard mysql_stmt_attr_set(handle, STMT_ATTR_UPDATE_MAX_LENGTH, &updateMaxLength) == 0 else { throw Self.error(of: handle) }
        guard mysql_stmt_store_result(handle) == 0 else { throw Self.error(of: handle) }

        let columnCount = Int(mysql_num_fields(metadata))
        guard let fields = mysql_fetch_fields(metadata) else { return [] }
        var columns: [String] = []
        var kinds: [ResultBuffers.ColumnKind] = []
        var sizes: [Int] = []
        for i in 0..<columnCount {
            let field = fields[i]
            columns.append(String(cString: field.name))
            let kind = ResultBuffers.ColumnKind(field: field)
            kinds.append(kind)
            sizes.append(kind == .integer || kind == .double ? 8 : max(Int(field.max_length), 1))
        }

        let buffers = ResultBuffers(kinds: kinds, sizes: sizes)
        defer { buffers.release() }
        guard mysql_stmt_bind_result(handle, buffers.binds) == 0 else { throw Self.error(of: handle) }

        var rows: [Row] = []
        rows.reserveCapacity(Int(mysql_stmt_num_rows(handle)))
        while true {
            let status = mysql_stmt_fetch(handle)
            if status == MYSQL_NO_DATA { break }
            if status == 1 { throw Self.error(of: handle) }
            // MYSQL_DATA_TRUNCATED cannot happen with buffers sized from max_length; if it
            // does, the server broke its promise and the row must not be trusted.
            if status == MYSQL_DATA_TRUNCATED {
                throw DatabaseError(kind: .decoding, message: "a column was truncated while fetching")
            }
            rows.append(Row(columns: columns, values: buffers.values()))
        }
        return rows
    }

    static func error(of handle: UnsafeMutablePointer<MYSQL_STMT>) -> DatabaseError {
        DatabaseError(
            code: mysql_stmt_errno(handle),
            sqlState: String(cString: mysql_stmt_sqlstate(handle)),
            message: String(cString: mysql_stmt_error(handle)))
    }
}
