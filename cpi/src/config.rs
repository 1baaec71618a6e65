//! The CPI config file (`cpi --config FILE`): its JSON shape, defaults and validation.
