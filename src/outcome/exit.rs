//! The exit-status contract, in one place: what scripts and CI read from `xoauth`.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | every check passed |
//! | 1 | a check ran and failed: the server refused or misbehaved |
//! | 2 | usage or configuration error: nothing was tried |
//! | 3 | no usable token: it could not be read, obtained or used |
//! | 4 | network or TLS: the server could not be reached or secured |
//!
//! Several checks in one run exit with the highest of their codes: the worst outcome wins.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(into = "u8")]
pub enum ExitStatus {
    Pass,
    CheckFailed,
    Usage,
    Token,
    Network,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Pass => 0,
            ExitStatus::CheckFailed => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Token => 3,
            ExitStatus::Network => 4,
        }
    }

    /// The status for a code a report carries; `None` for a code outside the contract.
    pub fn from_code(code: u8) -> Option<ExitStatus> {
        [
            ExitStatus::Pass,
            ExitStatus::CheckFailed,
            ExitStatus::Usage,
            ExitStatus::Token,
            ExitStatus::Network,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }
}

impl From<ExitStatus> for u8 {
    fn from(status: ExitStatus) -> u8 {
        status.code()
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> std::process::ExitCode {
        std::process::ExitCode::from(status.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_contract_and_order_by_severity() {
        let all = [
            ExitStatus::Pass,
            ExitStatus::CheckFailed,
            ExitStatus::Usage,
            ExitStatus::Token,
            ExitStatus::Network,
        ];
        let codes: Vec<u8> = all.iter().map(|s| s.code()).collect();
        assert_eq!(codes, [0, 1, 2, 3, 4]);
        for s in all {
            assert_eq!(ExitStatus::from_code(s.code()), Some(s));
        }
        assert_eq!(ExitStatus::from_code(5), None);
        assert_eq!(all.iter().max(), Some(&ExitStatus::Network));
        assert_eq!(serde_json::to_string(&ExitStatus::Token).unwrap(), "3");
    }
}
