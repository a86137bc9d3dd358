internal import CMaria

/// C memory for statement parameters: one MYSQL_BIND per value, each pointing at a copy of
/// the value. Allocated and released by `PreparedStatement.execute` around one execution.
struct ParameterBuffers {
    let binds: UnsafeMutablePointer<MYSQL_BIND>
    private let count: Int
    private let storage: [UnsafeMutableRawPointer]

    init(_ values: [SQLValue]) {
        count = values.count
        binds = .allocate(capacity: count)
        binds.initialize(repeating: MYSQL_BIND(), count: count)
        var storage: [UnsafeMutableRawPointer] = []
        for (i, value) in values.enumerated() {
            switch value {
            case .null:
                binds[i].buffer_type = MYSQL_TYPE_NULL
            case .int(let v):
                storage.append(Self.copy(v, into: &binds[i], type: MYSQL_TYPE_LONGLONG))
            case .uint(let v):
                storage.append(Self.copy(v, into: &binds[i], type: MYSQL_TYPE_LONGLONG))
                binds[i].is_unsigned = 1
            case .double(let v):
                storage.append(Self.copy(v, into: &binds[i], type: MYSQL_TYPE_DOUBLE))
            case .text(let s):
                storage.append(Self.copy(Array(s.utf8), into: &binds[i], type: MYSQL_TYPE_STRING))
            case .bytes(let b):
                storage.append(Self.copy(b, into: &binds[i], type: MYSQL_TYPE_BLOB))
            }
        }
        self.storage = storage
    }

    private static func copy<T>(_ value: T, into bind: inout MYSQL_BIND, type: enum_field_types) -> UnsafeMutableRawPointer {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<T>.size, alignment: 8)
        memory.storeBytes(of: value, as: T.self)
        bind.buffer_type = type
        bind.buffer = memory
        bind.buffer_length = UInt(MemoryLayout<T>.size)
        return memory
    }

    private static func copy(_ bytes: [UInt8], into bind: inout MYSQL_BIND, type: enum_field_types) -> UnsafeMutableRawPointer {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
        bytes.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        bind.buffer_type = type
        bind.buffer = memory
        bind.buffer_length = UInt(bytes.count)
        return memory
    }

    func release() {
        for memory in storage { memory.deallocate() }
        binds.deinitialize(count: count)
        binds.deallocate()
    }
}

/// C memory for one result set's columns, sized once from the columns' max_length and reused
/// for every row (Connector/C overwrites it on each fetch, so `values()` copies it out).
struct ResultBuffers {
    enum ColumnKind: Equatable {
        case integer, unsignedInteger, double, text, binary

        init(field: MYSQL_FIELD) {
            switch field.type {
            case MYSQL_TYPE_TINY, MYSQL_TYPE_SHORT, MYSQL_TYPE_LONG, MYSQL_TYPE_LONGLONG,
                MYSQL_TYPE_INT24, MYSQL_TYPE_YEAR:
                self = field.flags & UInt32(UNSIGNED_FLAG) != 0 ? .unsignedInteger : .integer
            case MYSQL_TYPE_FLOAT, MYSQL_TYPE_DOUBLE:
                self = .double
            case MYSQL_TYPE_TINY_BLOB, MYSQL_TYPE_BLOB, MYSQL_TYPE_MEDIUM_BLOB, MYSQL_TYPE_LONG_BLOB,
                MYSQL_TYPE_STRING, MYSQL_TYPE_VAR_STRING, MYSQL_TYPE_VARCHAR:
                // Charset 63 is "binary": BINARY, VARBINARY and BLOB columns.
                self = field.charsetnr == 63 ? .binary : .text
            default:
                // DECIMAL, DATE, DATETIME, TIMESTAMP, JSON…: the library renders them as text.
                self = .text
            }
        }
    }

    let binds: UnsafeMutablePointer<MYSQL_BIND>
    private let kinds: [ColumnKind]
    private let buffers: [UnsafeMutableRawPointer]
    private let lengths: UnsafeMutablePointer<UInt>
    private let nulls: UnsafeMutablePointer<my_bool>

    init(kinds: [ColumnKind], sizes: [Int]) {
        let count = kinds.count
        self.kinds = kinds
        binds = .allocate(capacity: max(count, 1))
        binds.initialize(repeating: MYSQL_BIND(), count: count)
        lengths = .allocate(capacity: max(count, 1))
        lengths.initialize(repeating: 0, count: count)
        nulls = .allocate(capacity: max(count, 1))
        nulls.initialize(repeating: 0, count: count)
        var buffers: [UnsafeMutableRawPointer] = []
        for i in 0..<count {
            let memory = UnsafeMutableRawPointer.allocate(byteCount: sizes[i], alignment: 8)
            buffers.append(memory)
            binds[i].buffer = memory
            binds[i].buffer_length = UInt(sizes[i])
            binds[i].length = lengths + i
            binds[i].is_null = nulls + i
            switch kinds[i] {
            case .integer: binds[i].buffer_type = MYSQL_TYPE_LONGLONG
            case .unsignedInteger:
                binds[i].buffer_type = MYSQL_TYPE_LONGLONG
                binds[i].is_unsigned = 1
            case .double: binds[i].buffer_type = MYSQL_TYPE_DOUBLE
            case .text: binds[i].buffer_type = MYSQL_TYPE_STRING
            case .binary: binds[i].buffer_type = MYSQL_TYPE_BLOB
            }
        }
        self.buffers = buffers
    }

    /// Copies the current row out of the C buffers.
    func values() -> [SQLValue] {
        var values: [SQLValue] = []
        values.reserveCapacity(kinds.count)
        for i in 0..<kinds.count {
            if nulls[i] != 0 {
                values.append(.null)
                continue
            }
            let memory = buffers[i]
            switch kinds[i] {
            case .integer: values.append(.int(memory.load(as: Int64.self)))
            case .unsignedInteger: values.append(.uint(memory.load(as: UInt64.self)))
            case .double: values.append(.double(memory.load(as: Double.self)))
            case .text, .binary:
                let bytes = UnsafeRawBufferPointer(start: memory, count: Int(lengths[i]))
                values.append(kinds[i] == .text ? .text(String(decoding: bytes, as: UTF8.self)) : .bytes(Array(bytes)))
            }
        }
        return values
    }

    func release() {
        for memory in buffers { memory.deallocate() }
        binds.deinitialize(count: kinds.count)
        binds.deallocate()
        lengths.deallocate()
        nulls.deallocate()
    }
}
