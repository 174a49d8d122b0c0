import CLDAP
import LDAPModel

#if canImport(Glibc)
    import Glibc
#endif

/// Owns the C memory built for one libldap call (strings, bervals, controls, mods) and frees all of it
/// in one place when the call is done. libldap encodes a request before its call returns, so nothing
/// here needs to outlive the closure that uses it.
final class CArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    deinit {
        for pointer in allocations { free(pointer) }
    }

    private func allocate(_ size: Int) -> UnsafeMutableRawPointer {
        guard let pointer = calloc(1, max(size, 1)) else { fatalError("out of memory") }
        allocations.append(pointer)
        return pointer
    }

    func string(_ text: String) -> UnsafeMutablePointer<CChar> {
        let utf8 = Array(text.utf8)
        let pointer = allocate(utf8.count + 1).bindMemory(to: CChar.self, capacity: utf8.count + 1)
        for (index, byte) in utf8.enumerated() { pointer[index] = CChar(bitPattern: byte) }
        pointer[utf8.count] = 0
        return pointer
    }

    func optionalString(_ text: String?) -> UnsafeMutablePointer<CChar>? { text.map(string) }

    /// A berval holding a copy of `bytes` (NUL-terminated too, which libldap never relies on).
    func berval(_ bytes: [UInt8]) -> UnsafeMutablePointer<CLDAP.berval> {
        let value = allocate(MemoryLayout<CLDAP.berval>.size).bindMemory(to: CLDAP.berval.self, capacity: 1)
        value.pointee = bervalValue(bytes)
        return value
    }

    func bervalValue(_ bytes: [UInt8]) -> CLDAP.berval {
        let data = allocate(bytes.count + 1).bindMemory(to: CChar.self, capacity: bytes.count + 1)
        bytes.withUnsafeBytes { raw in
            if let base = raw.baseAddress { memcpy(data, base, bytes.count) }
        }
        return CLDAP.berval(bv_len: ber_len_t(bytes.count), bv_val: data)
    }

    /// A NULL-terminated array of pointers.
    func nullTerminated<T>(_ elements: [UnsafeMutablePointer<T>]) -> UnsafeMutablePointer<UnsafeMutablePointer<T>?> {
        let array = allocate(MemoryLayout<UnsafeMutablePointer<T>?>.stride * (elements.count + 1))
            .bindMemory(to: UnsafeMutablePointer<T>?.self, capacity: elements.count + 1)
        for (index, element) in elements.enumerated() { array[index] = element }
        array[elements.count] = nil
        return array
    }

    func strings(_ texts: [String]?) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        guard let texts else { return nil }
        return nullTerminated(texts.map(string))
    }

    func controls(_ controls: [Control]) -> UnsafeMutablePointer<UnsafeMutablePointer<LDAPControl>?>? {
        guard !controls.isEmpty else { return nil }
        let pointers = controls.map { control -> UnsafeMutablePointer<LDAPControl> in
            let pointer = allocate(MemoryLayout<LDAPControl>.size).bindMemory(to: LDAPControl.self, capacity: 1)
            pointer.pointee.ldctl_oid = string(control.oid)
            pointer.pointee.ldctl_iscritical = control.isCritical ? 1 : 0
            if let value = control.value {
                pointer.pointee.ldctl_value = bervalValue(value)
            } else {
                pointer.pointee.ldctl_value = CLDAP.berval(bv_len: 0, bv_val: nil)
            }
            return pointer
        }
        return nullTerminated(pointers)
    }

    /// LDAPMod entries, always with LDAP_MOD_BVALUES so values stay binary-safe.
    func modifications(_ modifications: [Modification]) -> UnsafeMutablePointer<UnsafeMutablePointer<LDAPMod>?> {
        nullTerminated(
            modifications.map { modification in
                modify(operation: modification.operation.cValue, type: modification.attribute.description, values: modification.values)
            })
    }

    func attributes(_ attributes: [Attribute]) -> UnsafeMutablePointer<UnsafeMutablePointer<LDAPMod>?> {
        nullTerminated(attributes.map { modify(operation: LDAP_MOD_ADD, type: $0.description.description, values: $0.values) })
    }

    private func modify(operation: Int32, type: String, values: [[UInt8]]) -> UnsafeMutablePointer<LDAPMod> {
        let mod = allocate(MemoryLayout<LDAPMod>.size).bindMemory(to: LDAPMod.self, capacity: 1)
        mod.pointee.mod_op = operation | LDAP_MOD_BVALUES
        mod.pointee.mod_type = string(type)
        mod.pointee.mod_vals.modv_bvals = values.isEmpty ? nil : nullTerminated(values.map(berval))
        return mod
    }
}

extension Modification.Operation {
    var cValue: Int32 {
        switch self {
        case .add: LDAP_MOD_ADD
        case .delete: LDAP_MOD_DELETE
        case .replace: LDAP_MOD_REPLACE
        case .increment: LDAP_MOD_INCREMENT
        }
    }
}

/// Copies a berval's bytes into Swift.
func bytes(of value: CLDAP.berval) -> [UInt8] {
    guard let data = value.bv_val, value.bv_len > 0 else { return [] }
    return Array(UnsafeRawBufferPointer(start: data, count: Int(value.bv_len)))
}

/// Copies a libldap-allocated C string and frees it with ldap_memfree.
func takeString(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
    guard let pointer else { return "" }
    defer { ldap_memfree(pointer) }
    return String(cString: pointer)
}

/// Copies a libldap-allocated control array and frees it.
func takeControls(_ controls: UnsafeMutablePointer<UnsafeMutablePointer<LDAPControl>?>?) -> [Control] {
    guard let controls else { return [] }
    defer { ldap_controls_free(controls) }
    var result: [Control] = []
    var index = 0
    while let control = controls[index] {
        let oid = control.pointee.ldctl_oid.map { String(cString: $0) } ?? ""
        let value = control.pointee.ldctl_value.bv_val == nil ? nil : bytes(of: control.pointee.ldctl_value)
        result.append(Control(oid: oid, isCritical: control.pointee.ldctl_iscritical != 0, value: value))
        index += 1
    }
    return result
}
