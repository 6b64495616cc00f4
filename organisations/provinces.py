"""The 34 provincial-level units of Vietnam (from 1 July 2025), with short codes."""

PROVINCES: list[tuple[str, str]] = [
    ("HNI", "Hà Nội"), ("HPG", "Hải Phòng"), ("HUE", "Huế"), ("DNG", "Đà Nẵng"),
    ("HCM", "Hồ Chí Minh"), ("CTO", "Cần Thơ"), ("LCU", "Lai Châu"), ("DBN", "Điện Biên"),
    ("SLA", "Sơn La"), ("LSN", "Lạng Sơn"), ("QNH", "Quảng Ninh"), ("THA", "Thanh Hóa"),
    ("NAN", "Nghệ An"), ("HTH", "Hà Tĩnh"), ("CBG", "Cao Bằng"), ("TQG", "Tuyên Quang"),
    ("LCI", "Lào Cai"), ("TNN", "Thái Nguyên"), ("PTO", "Phú Thọ"), ("BNH", "Bắc Ninh"),
    ("HYN", "Hưng Yên"), ("NBH", "Ninh Bình"), ("QTI", "Quảng Trị"), ("QNI", "Quảng Ngãi"),
    ("GLI", "Gia Lai"), ("KHA", "Khánh Hòa"), ("LDG", "Lâm Đồng"), ("DLK", "Đắk Lắk"),
    ("DNI", "Đồng Nai"), ("TNH", "Tây Ninh"), ("VLG", "Vĩnh Long"), ("DTP", "Đồng Tháp"),
    ("CMU", "Cà Mau"), ("AGG", "An Giang"),
]
NATIONAL_CODE = "VN"
NATIONAL_NAME = "Trung tâm SOC quốc gia"
