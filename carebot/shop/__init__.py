"""The shop's data and what can be done to it: customers and orders (the shop's database or its
own order API) and the help centre."""
