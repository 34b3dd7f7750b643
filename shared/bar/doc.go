// Package bar holds finfeed's minute-bar records: the raw bar the ingester writes, the enriched bar customers
// read, their validation and their JSON codecs.
package bar
