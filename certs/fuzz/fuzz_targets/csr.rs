//! CSR parsing (PEM or DER, signature verification) never panics, and what
//! it accepts has a key type and a DER body that parses again to the same.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(csr) = certs::csr::parse_csr(data) {
        let again = certs::csr::parse_csr(&csr.der).expect("accepted DER parses again");
        assert_eq!(again.key_type, csr.key_type);
        assert_eq!(again.dns_names, csr.dns_names);
    }
});
