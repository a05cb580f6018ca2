"""Customer due diligence beyond the KYC decision (R20): enhanced due diligence of high-risk
customers, recorded by a second compliance officer, and the combined due-diligence view."""
