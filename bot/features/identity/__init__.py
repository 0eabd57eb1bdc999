"""Who the employee is: signing in with the company's OpenID Connect provider (issue 81)."""
